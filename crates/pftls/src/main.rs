fn main() {
    println!("pftls {}", env!("CARGO_PKG_VERSION"));
}
