//! Placeholder until `discv5-ping` lands.
fn main() {
    eprintln!("discv5-ping: not implemented yet");
    std::process::exit(2);
}
