use clap::Parser;
use lagesbild::cli::{Cli, Command};
use std::io::IsTerminal;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The server logs requests; a CLI command prints only its result unless asked for more.
    let serving = matches!(cli.command, None | Some(Command::Serve { .. }));
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
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
