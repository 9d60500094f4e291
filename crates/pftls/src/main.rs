//! The `pftls` binary.

fn main() {
    pftls::run_main()
}
