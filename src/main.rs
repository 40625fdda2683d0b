//! The `zhibiao` binary: all logic is in the library.

fn main() -> std::process::ExitCode {
    zhibiao::cli::main()
}
