//! The `jclake` binary: the allocator's arenas capped, then the command line (`cli::main`).

fn main() -> std::process::ExitCode {
    cap_malloc_arenas();
    jclake::cli::main()
}

/// glibc gives each thread that allocates its own arena, up to 8 per core, and keeps what is
/// freed in each. Object-store writes run on short-lived blocking threads, so over a long
/// backfill more arenas fill and peak memory grew with the number of days (measured, 1 M
/// events over 30 days at `memory_limit_mb` 128: 179 MiB; 12 days: 140 MiB). Two arenas
/// keep it flat (99 MiB) at the same CPU.
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread
    // exists, and a refusal (0) leaves glibc's default, which is merely larger.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
