//! Server start-up: settings, tracing, database, router, serve.

use storno_licensing::config::Settings;
use storno_licensing::http::Application;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("storno-licensing: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let application = Application::build(settings).await?;
    let url = application.local_url();
    tracing::info!("Storno Licensing is listening on {url}");
    println!("Storno Licensing is running: open {url}");
    application
        .run_until_stopped()
        .await
        .map_err(|e| format!("server error: {e}"))
}
