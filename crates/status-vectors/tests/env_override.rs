//! `STATUS_RS_VECTORS` redirects the loader. Environment variables are
//! process-global, so this lives in its own test binary (own process) and
//! in a single test function.

use std::fs;

#[test]
fn env_var_overrides_the_embedded_directory() {
    let dir = std::env::temp_dir().join(format!("status-vectors-override-{}", std::process::id()));
    fs::create_dir_all(dir.join("status-go")).unwrap();
    fs::write(
        dir.join("status-go/only-here.json"),
        r#"{"description": "d", "sources": [], "cases": [{"description": "c", "bytes": "0xbeef"}]}"#,
    )
    .unwrap();

    // Unset or empty: the embedded copy.
    std::env::remove_var(status_vectors::VECTORS_ENV);
    let embedded = status_vectors::vectors_dir();
    assert!(embedded.join("status-go/mvds.json").is_file());
    std::env::set_var(status_vectors::VECTORS_ENV, "");
    assert_eq!(status_vectors::vectors_dir(), embedded);

    // Set: that directory, for every loader function.
    std::env::set_var(status_vectors::VECTORS_ENV, &dir);
    assert_eq!(status_vectors::vectors_dir(), dir);
    let cases = status_vectors::cases("status-go/only-here.json");
    assert_eq!(cases.len(), 1);
    assert_eq!(status_vectors::hex_field(&cases[0], "bytes"), [0xbe, 0xef]);
    let missing = std::panic::catch_unwind(|| status_vectors::load_json("status-go/mvds.json"));
    assert!(
        missing.is_err(),
        "the embedded file must not be found through the override"
    );

    std::env::remove_var(status_vectors::VECTORS_ENV);
    fs::remove_dir_all(&dir).unwrap();
}
