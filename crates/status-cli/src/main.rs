//! `status`: the Status client a person runs.
//!
//! Errors reach the user as one sentence on stderr and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use rand_chacha::rand_core::SeedableRng;
use serde_json::json;
use status_cli::keystore::{Kdf, Keystore, PublicInfo};

/// `println!` that ignores a closed stdout (`status account list | head`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// The Status client: accounts in an encrypted keystore (a terminal chat
/// and a node are to come).
#[derive(Parser)]
#[command(name = "status", version)]
struct Cli {
    #[command(subcommand)]
    command: Top,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Where accounts and their data live [default: the platform's data dir]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// One JSON object per line instead of text
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Top {
    /// Create, import, list and show accounts
    Account {
        #[command(subcommand)]
        command: AccountCmd,
    },
    /// Run a relay, light or mailserver node from a TOML config
    Node {
        /// The config: `[node]` (listen, role = "relay" | "light" |
        /// "mailserver", max_peers, min_pow, archive) and status-go's
        /// `[ClusterConfig]` (StaticNodes, BootNodes, TrustedMailServers,
        /// RendezvousNodes)
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum AccountCmd {
    /// A new account from a fresh 12-word mnemonic (printed once: write it down)
    New {
        /// Cheaper scrypt (geth's --lightkdf) for tests and slow machines
        #[arg(long)]
        light_kdf: bool,
    },
    /// An account from an existing mnemonic (read from STATUS_MNEMONIC or a prompt)
    Import {
        /// Cheaper scrypt (geth's --lightkdf)
        #[arg(long)]
        light_kdf: bool,
    },
    /// The accounts in the data dir
    List,
    /// An account's chat key, contact code and 3-word name
    ExportPublic {
        /// Its 3-word name, contact code or chat key
        account: String,
        /// Also decrypt the keystore (checks the passphrase)
        #[arg(long)]
        check: bool,
    },
}

fn data_dir(c: &Common) -> Result<PathBuf, String> {
    if let Some(d) = &c.data_dir {
        return Ok(d.clone());
    }
    directories::ProjectDirs::from("im", "status", "status-rs")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or_else(|| "no home directory: pass --data-dir".to_string())
}

fn passphrase(confirm: bool) -> Result<String, String> {
    if let Ok(p) = std::env::var("STATUS_PASSPHRASE") {
        return Ok(p);
    }
    let p = rpassword::prompt_password("passphrase: ")
        .map_err(|e| format!("cannot read the passphrase: {e} (or set STATUS_PASSPHRASE)"))?;
    if confirm && rpassword::prompt_password("again: ").map_err(|e| e.to_string())? != p {
        return Err("the passphrases differ".into());
    }
    if p.is_empty() {
        return Err("an empty passphrase protects nothing".into());
    }
    Ok(p)
}

fn accounts_dir(dir: &Path) -> PathBuf {
    dir.join("accounts")
}

fn load_all(dir: &Path) -> Result<Vec<(PathBuf, Keystore)>, String> {
    let a = accounts_dir(dir);
    let entries = match std::fs::read_dir(&a) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", a.display())),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let ks: Keystore = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a keystore file: {e}", p.display()))?;
            out.push((p, ks));
        }
    }
    out.sort_by(|a, b| a.1.status.name.cmp(&b.1.status.name));
    Ok(out)
}

fn find(dir: &Path, who: &str) -> Result<Keystore, String> {
    let all = load_all(dir)?;
    let w = who.trim();
    let hit = all.into_iter().find(|(_, k)| {
        let s = &k.status;
        s.name.eq_ignore_ascii_case(w) || s.contact_code == w || s.chat_key.eq_ignore_ascii_case(w)
    });
    hit.map(|(_, k)| k).ok_or_else(|| {
        format!(
            "no account named {who:?} in {}",
            accounts_dir(dir).display()
        )
    })
}

fn show(info: &PublicInfo, json: bool, extra: Option<(&str, &str)>) {
    if json {
        let mut v = json!({"event": "account", "name": info.name, "chat_key": info.chat_key, "contact_code": info.contact_code});
        if let Some((k, x)) = extra {
            v[k] = json!(x);
        }
        say!("{v}");
    } else {
        if let Some((k, x)) = extra {
            say!("{k}: {x}");
        }
        say!("name:         {}", info.name);
        say!("chat key:     {}", info.chat_key);
        say!("contact code: {}", info.contact_code);
    }
}

fn save(dir: &Path, account: &status_keys::Account, light: bool) -> Result<PublicInfo, String> {
    let pass = passphrase(true)?;
    let mut random = [0u8; 48];
    let seed = status_driver::os::rng_seed().map_err(|e| e.to_string())?;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut random);
    let kdf = if light { Kdf::Light } else { Kdf::Standard };
    let ks =
        Keystore::encrypt(&account.chat_key(), &pass, kdf, random).map_err(|e| e.to_string())?;
    let a = accounts_dir(dir);
    std::fs::create_dir_all(&a).map_err(|e| format!("cannot create {}: {e}", a.display()))?;
    let path = a.join(format!("{}.json", ks.status.contact_code));
    if path.exists() {
        return Err(format!("{} already exists", path.display()));
    }
    let text = serde_json::to_string_pretty(&ks).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(ks.status)
}

fn account(cmd: AccountCmd, common: Common) -> Result<(), String> {
    let dir = data_dir(&common)?;
    match cmd {
        AccountCmd::New { light_kdf } => {
            let seed = status_driver::os::rng_seed().map_err(|e| e.to_string())?;
            let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
            let m = status_keys::Mnemonic::generate(&mut rng, status_keys::WordCount::Words12);
            let account =
                status_keys::Account::from_seed(&m.to_seed("")).map_err(|e| e.to_string())?;
            let info = save(&dir, &account, light_kdf)?;
            show(&info, common.json, Some(("mnemonic", m.phrase())));
        }
        AccountCmd::Import { light_kdf } => {
            let phrase = match std::env::var("STATUS_MNEMONIC") {
                Ok(p) => p,
                Err(_) => rpassword::prompt_password("mnemonic: ").map_err(|e| {
                    format!("cannot read the mnemonic: {e} (or set STATUS_MNEMONIC)")
                })?,
            };
            let m = status_keys::Mnemonic::parse(phrase.trim())
                .map_err(|e| format!("that is not a valid mnemonic: {e}"))?;
            let account =
                status_keys::Account::from_seed(&m.to_seed("")).map_err(|e| e.to_string())?;
            let info = save(&dir, &account, light_kdf)?;
            show(&info, common.json, None);
        }
        AccountCmd::List => {
            let all = load_all(&dir)?;
            if all.is_empty() && !common.json {
                say!(
                    "no accounts in {} (create one: status account new)",
                    accounts_dir(&dir).display()
                );
            }
            for (_, k) in all {
                if common.json {
                    show(&k.status, true, None);
                } else {
                    say!("{:<32} {}", k.status.name, k.status.contact_code);
                }
            }
        }
        AccountCmd::ExportPublic { account, check } => {
            let ks = find(&dir, &account)?;
            if check {
                let pass = passphrase(false)?;
                ks.decrypt(&pass).map_err(|e| match e {
                    status_cli::keystore::KeystoreError::WrongPassphrase => {
                        format!("wrong passphrase for {}", ks.status.name)
                    }
                    other => other.to_string(),
                })?;
            }
            show(&ks.status, common.json, None);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Top::Account { command } => account(command, cli.common),
        Top::Node { config } => {
            status_cli::node::run(&config, cli.common.json, data_dir(&cli.common))
        }
        Top::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "status", &mut out);
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&out);
            Ok(())
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
