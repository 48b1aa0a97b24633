//! Server start-up: settings, tracing, database, router, serve.

use storno_licensing::config::Settings;
use storno_licensing::db::Db;
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

const USAGE: &str = "usage: storno-licensing [serve | migrate]

  serve     apply pending migrations, then serve (the default)
  migrate   apply pending migrations and exit

Configuration comes from the environment: see README.md.";

async fn run() -> Result<(), String> {
    let command = std::env::args().nth(1);
    match command.as_deref() {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    }
}

async fn migrate() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    println!("migrations applied ({:?})", db.engine);
    Ok(())
}

async fn serve() -> Result<(), String> {
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
