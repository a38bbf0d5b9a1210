use clap::Parser;
use lagesbild::cli::{Cli, Command};
use std::io::IsTerminal;

// mimalloc serves the server's many small allocations on several threads with less
// contention than the system allocator: about a quarter more questionnaires per second
// (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// For commands that stream a whole round (exports, tallies): memory freed is returned at
/// once and arenas are committed as they are used, so the peak stays near what is in use.
/// The server keeps mimalloc's defaults, which are faster.
fn keep_memory_low() {
    // mimalloc v2's `mi_option_e` (mimalloc.h), which libmimalloc-sys does not name.
    const ARENA_EAGER_COMMIT: std::os::raw::c_int = 4;
    const PURGE_DELAY: std::os::raw::c_int = 15;
    // SAFETY: option setters, which mimalloc allows at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The server logs requests; a CLI command prints only its result unless asked for more.
    let serving = matches!(cli.command, None | Some(Command::Serve { .. }));
    if !serving {
        keep_memory_low();
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG")
        .unwrap_or_else(|_| if serving { "info".into() } else { "warn".into() })
        // The template engine's debug output holds the data of each page, answers included.
        .add_directive("handlebars=warn".parse().expect("a valid directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match lagesbild::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // 2: the command was refused (bad input, said in the message); 1: a technical failure.
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(lagesbild::cli::exit_code(&e))
        }
    }
}
