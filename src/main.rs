//! The `jclake` binary: the command line (`cli::main`).

fn main() -> std::process::ExitCode {
    jclake::cli::main()
}
