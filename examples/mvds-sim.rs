//! Placeholder until `mvds-sim` lands.
fn main() {
    eprintln!("mvds-sim: not implemented yet");
    std::process::exit(2);
}
