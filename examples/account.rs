//! Placeholder until `account` lands.
fn main() {
    eprintln!("account: not implemented yet");
    std::process::exit(2);
}
