//! The `jclake` binary: mimalloc as its allocator, then the command line (`cli::main`).

// The binary's allocator only; the library leaves the choice to whoever embeds it.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jclake::cli::main()
}
