//! Support shared by the example tests.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The path of example `name`, built for the profile this test was built
/// with (the environment variable `env_override` overrides it).
///
/// `cargo test` builds examples, but a filtered run (`--test <name>`)
/// does not, so a stale or missing binary is possible: ask cargo to build
/// it (a no-op when fresh) and take the path from its JSON output. Without
/// cargo (an archived nextest run), fall back to the binary beside ours.
pub fn example_binary(name: &str, env_override: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_override) {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in <target>/<profile>/deps");
    let beside = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "--quiet",
        "--message-format=json",
        "--example",
        name,
        "--manifest-path",
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
    ]);
    match profile_dir.file_name().and_then(|p| p.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(profile) => {
            build.args(["--profile", profile]);
        }
    }
    let built = build
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .and_then(|out| {
            if !out.status.success() {
                return None;
            }
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|msg| msg["target"]["name"] == name)
                .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        });
    match built {
        Some(path) => path,
        None if beside.exists() => beside,
        None => panic!(
            "cannot build the {name} example and {} does not exist",
            beside.display()
        ),
    }
}
