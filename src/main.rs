//! Server start-up: logging, then the command line (`serve` by default).

use clap::Parser;
use storno_licensing::cli::Cli;
use tracing_subscriber::EnvFilter;

/// Requests allocate many small, short-lived values, often freed on another worker
/// thread than the one that made them: mimalloc handles that far better than glibc's
/// malloc (see bench/records/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Logs go to standard error: standard output is the commands' answers.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .init();
    cli.run().await
}
