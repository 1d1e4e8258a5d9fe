//! Compiles every `.proto` under the workspace's `proto/` directory with
//! prost-build, parsing them with protox (pure Rust: no system `protoc`).

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let proto_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    // A directory here makes cargo rescan everything below it.
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    println!("cargo:rerun-if-changed=build.rs");

    let mut files = Vec::new();
    collect_protos(&proto_dir, &proto_dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format!("no .proto files under {}", proto_dir.display()).into());
    }

    let descriptors = protox::compile(&files, [&proto_dir])?;
    prost_build::Config::new()
        // Maps encode in key order, so encoding is deterministic (Go's
        // deterministic marshalling sorts map keys the same way).
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}

/// Paths of all `.proto` files below `dir`, relative to `root` (the include
/// path), so that protox names each file as imports refer to it.
fn collect_protos(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(root, &path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path.strip_prefix(root)?.to_path_buf());
        }
    }
    Ok(())
}
