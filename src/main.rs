//! The `roambridge` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    roambridge::cli::main()
}
