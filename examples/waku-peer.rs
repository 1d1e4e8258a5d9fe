//! Placeholder until `waku-peer` lands.
fn main() {
    eprintln!("waku-peer: not implemented yet");
    std::process::exit(2);
}
