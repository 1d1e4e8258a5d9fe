//! `generate-vectors <dir> [--seed N] [--from <src>]`: writes a generated
//! vector tree (see `status_vectors::generate`) into `<dir>`, made from
//! `<src>` (default: the copy embedded in status-vectors), then prints what
//! it did. Run the suites on it with `STATUS_RS_VECTORS=<dir>`.

use std::path::PathBuf;
use std::process::ExitCode;

use status_vectors::generate::{generate_tree, DEFAULT_SEED};

const USAGE: &str = "usage: generate-vectors <dir> [--seed N] [--from <vector dir>]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut dst = None;
    let mut seed = DEFAULT_SEED;
    let mut src = status_vectors::embedded_dir();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => match args.next().map(|s| s.parse::<u64>()) {
                Some(Ok(n)) => seed = n,
                _ => return fail("--seed needs a number"),
            },
            "--from" => match args.next() {
                Some(dir) => src = PathBuf::from(dir),
                None => return fail("--from needs a directory"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other if other.starts_with('-') => return fail(&format!("unknown option {other}")),
            other if dst.is_none() => dst = Some(PathBuf::from(other)),
            other => return fail(&format!("unexpected argument {other}")),
        }
    }
    let Some(dst) = dst else {
        return fail("no destination directory");
    };
    match generate_tree(&src, &dst, seed) {
        Ok(summary) => {
            println!("{}: {summary}", dst.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\n{USAGE}");
    ExitCode::FAILURE
}
