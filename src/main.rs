fn main() -> std::process::ExitCode {
    jclake::cli::main()
}
