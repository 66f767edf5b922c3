//! `jclake-sim serve`: the JumpCloud simulator as a process.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "jclake-sim",
    version,
    about = "A simulated JumpCloud organization on 127.0.0.1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a simulated org on 127.0.0.1; prints the base URL on the first line of stdout.
    Serve(jclake_sim::cli::ServeArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jclake-sim: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match cli.command {
        Command::Serve(args) => rt.block_on(jclake_sim::cli::serve(args)),
    }
}
