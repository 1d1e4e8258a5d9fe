//! The `status` binary as a user runs it: accounts in a keystore, and
//! every error path as one sentence on stderr with a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn status(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_status"));
    c.args(args).arg("--data-dir").arg(dir);
    c.env_remove("STATUS_PASSPHRASE")
        .env_remove("STATUS_MNEMONIC");
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(std::process::Stdio::null());
    c.output().expect("run status")
}

/// One sentence on stderr, no panic, exit 1.
fn assert_error(o: &Output, want: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(want), "{err:?} should say {want:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

const PASS: (&str, &str) = ("STATUS_PASSPHRASE", "a long passphrase");

#[test]
fn an_account_made_new_is_listed_exported_and_opens_with_its_passphrase_only() {
    let dir = tempfile::tempdir().unwrap();
    let o = status(
        dir.path(),
        &["account", "new", "--light-kdf", "--json"],
        &[PASS],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let new = json_lines(&o).remove(0);
    let name = new["name"].as_str().unwrap().to_string();
    let mnemonic = new["mnemonic"].as_str().unwrap().to_string();
    assert_eq!(name.split(' ').count(), 3);
    assert!(new["contact_code"].as_str().unwrap().starts_with("zQ3"));

    let listed = json_lines(&status(dir.path(), &["account", "list", "--json"], &[]));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], new["name"]);
    assert_eq!(listed[0]["chat_key"], new["chat_key"]);
    assert!(listed[0].get("mnemonic").is_none());

    for who in [
        &name,
        new["contact_code"].as_str().unwrap(),
        new["chat_key"].as_str().unwrap(),
    ] {
        let o = status(
            dir.path(),
            &["account", "export-public", who, "--check", "--json"],
            &[PASS],
        );
        assert!(
            o.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(json_lines(&o)[0]["contact_code"], new["contact_code"]);
    }
    let o = status(
        dir.path(),
        &["account", "export-public", &name, "--check"],
        &[("STATUS_PASSPHRASE", "not it")],
    );
    assert_error(&o, "wrong passphrase");

    // the same mnemonic imported elsewhere is the same account
    let other = tempfile::tempdir().unwrap();
    let o = status(
        other.path(),
        &["account", "import", "--light-kdf", "--json"],
        &[PASS, ("STATUS_MNEMONIC", &mnemonic)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json_lines(&o)[0]["chat_key"], new["chat_key"]);
    // and twice in one data dir is refused
    let o = status(
        other.path(),
        &["account", "import", "--light-kdf"],
        &[PASS, ("STATUS_MNEMONIC", &mnemonic)],
    );
    assert_error(&o, "already exists");
}

#[test]
fn account_errors_are_one_sentence_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    assert_error(
        &status(
            dir.path(),
            &["account", "export-public", "Nobody Here Yet"],
            &[],
        ),
        "no account named \"Nobody Here Yet\"",
    );
    assert_error(
        &status(
            dir.path(),
            &["account", "import", "--light-kdf"],
            &[
                PASS,
                ("STATUS_MNEMONIC", "these are not twelve bip39 words"),
            ],
        ),
        "not a valid mnemonic",
    );
    // no terminal and no STATUS_PASSPHRASE
    assert_error(
        &status(dir.path(), &["account", "new", "--light-kdf"], &[]),
        "passphrase",
    );
    std::fs::create_dir_all(dir.path().join("accounts")).unwrap();
    std::fs::write(dir.path().join("accounts/broken.json"), "{not json").unwrap();
    assert_error(
        &status(dir.path(), &["account", "list"], &[]),
        "is not a keystore file",
    );
}

#[test]
fn every_subcommand_has_help_and_completions_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["account", "--help"],
        &["account", "new", "--help"],
        &["account", "import", "--help"],
        &["account", "list", "--help"],
        &["account", "export-public", "--help"],
        &["node", "--help"],
        &["completions", "--help"],
    ] {
        let o = status(dir.path(), args, &[]);
        assert!(o.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage: status"),
            "{args:?}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let o = status(dir.path(), &["completions", shell], &[]);
        assert!(o.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("export-public"),
            "{shell}"
        );
    }
    let o = status(dir.path(), &["account", "frobnicate"], &[]);
    assert_eq!(o.status.code(), Some(2), "clap's usage error");
}

#[test]
fn node_config_errors_are_one_sentence_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let cases = [
        (cfg("syntax.toml", "listen = [\n"), "is not valid"),
        (
            cfg("unknown.toml", "[node]\nlisten_on = \"127.0.0.1:0\"\n"),
            "is not valid",
        ),
        (
            cfg("role.toml", "[node]\nrole = \"gateway\"\n"),
            "is not relay, light or mailserver",
        ),
        (
            cfg("listen.toml", "[node]\nlisten = \"nowhere\"\n"),
            "[node] listen",
        ),
        (
            cfg(
                "enode.toml",
                "[ClusterConfig]\nStaticNodes = [\"enode://1234\"]\n",
            ),
            "[ClusterConfig]",
        ),
    ];
    for (path, want) in &cases {
        assert_error(&status(dir.path(), &["node", "--config", path], &[]), want);
    }
    let missing = dir.path().join("missing.toml");
    assert_error(
        &status(
            dir.path(),
            &["node", "--config", missing.to_str().unwrap()],
            &[],
        ),
        "cannot read the config",
    );
}

#[test]
fn a_mailserver_node_starts_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("node.toml");
    std::fs::write(
        &cfg,
        "[node]\nlisten = \"127.0.0.1:0\"\nrole = \"mailserver\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_status"))
        .args(["node", "--json", "--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "listening");
    assert!(first["enode"].as_str().unwrap().contains("@127.0.0.1:"));
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(second["event"], "archive_open");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(
        rest.last().map(|v| v["event"].clone()),
        Some("stopped".into())
    );
    assert!(child.wait().unwrap().success(), "exit 0 after SIGTERM");
    // the node key and the archive are in the data dir, for the next start
    assert!(dir.path().join("node.key").exists());
    assert!(dir.path().join("mailserver-archive.db").exists());
}
