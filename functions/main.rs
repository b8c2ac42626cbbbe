//! The `jojomart` binary: parse the command line, run it, report one line on failure.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = jojomart::cli::Cli::parse();
    jojomart::cli::run(cli).await?;
    Ok(())
}
