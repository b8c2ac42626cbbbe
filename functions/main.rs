//! The `jojomart` binary: parse the command line, run it, report one line on failure.

use std::process::ExitCode;

use clap::Parser;

/// musl's allocator serialises tokio's worker threads; the static package uses mimalloc.
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = jojomart::cli::Cli::parse();
    match jojomart::cli::run(cli).await.map_err(anyhow::Error::from) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` puts the whole cause chain on one line
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
