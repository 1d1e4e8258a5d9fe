//! Prints a Status account: the chat public key (hex and `zQ3...`), its
//! 3-word name and identicon, and the first wallet address.
//!
//! ```text
//! cargo run --example account -- --mnemonic "<12 words>" [--passphrase "..."]
//! cargo run --example account            # generates a fresh mnemonic first
//! ```
//!
//! This example is a "driver": it is the only place that touches OS
//! randomness; status-keys itself takes an injected RNG.

use status_keys::{Account, Identicon, Mnemonic, WordCount};

fn usage() -> ! {
    eprintln!("usage: account [--mnemonic \"<12..24 words>\"] [--passphrase <text>]");
    std::process::exit(2);
}

fn main() {
    let mut phrase: Option<String> = None;
    let mut passphrase = String::new();
    let mut parser = lexopt::Parser::from_env();
    loop {
        match parser.next() {
            Ok(Some(lexopt::Arg::Long("mnemonic"))) => {
                phrase = parser.value().ok().and_then(|v| v.into_string().ok());
                if phrase.is_none() {
                    usage();
                }
            }
            Ok(Some(lexopt::Arg::Long("passphrase"))) => {
                match parser.value().ok().and_then(|v| v.into_string().ok()) {
                    Some(p) => passphrase = p,
                    None => usage(),
                }
            }
            Ok(Some(lexopt::Arg::Short('h') | lexopt::Arg::Long("help"))) => usage(),
            Ok(None) => break,
            Ok(Some(_)) | Err(_) => usage(),
        }
    }

    let mnemonic = match phrase {
        Some(p) => match Mnemonic::parse(&p) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("invalid mnemonic: {e}");
                std::process::exit(1);
            }
        },
        None => {
            let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
            let m = Mnemonic::generate(&mut rng, WordCount::Words12);
            println!("mnemonic (new, write it down): {}", m.phrase());
            m
        }
    };

    let account = match Account::from_seed(&mnemonic.to_seed(&passphrase)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cannot derive the account: {e}");
            std::process::exit(1);
        }
    };
    let chat = account.chat_public_key();
    println!("chat key path:   {}", status_keys::CHAT_KEY_PATH);
    println!("chat public key: 0x{}", hex::encode(chat.to_uncompressed()));
    println!("compressed:      {}", account.chat_key_base58());
    println!("name:            {}", account.name());
    match account.wallet_address(0) {
        Ok(a) => println!(
            "wallet 0:        {a}  ({}/0)",
            status_keys::WALLET_ROOT_PATH
        ),
        Err(e) => println!("wallet 0:        cannot derive ({e})"),
    }
    let id = Identicon::from_public_key(&chat);
    let [r, g, b] = id.color();
    println!("identicon:       colour #{r:02x}{g:02x}{b:02x}");
    for row in id.bitmap().chunks(5) {
        let line: String = row
            .iter()
            .map(|&c| if c == 1 { "##" } else { ".." })
            .collect();
        println!("                 {line}");
    }
}
