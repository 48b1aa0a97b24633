//! Server start-up: settings, tracing, database, router, serve.

use storno_licensing::config::Settings;
use storno_licensing::db::Db;
use storno_licensing::http::Application;
use tracing_subscriber::EnvFilter;

/// Requests allocate many small, short-lived values, often freed on another worker
/// thread than the one that made them: mimalloc handles that far better than glibc's
/// malloc (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

const USAGE: &str = "usage: storno-licensing [COMMAND]

  serve                              apply pending migrations, then serve (the default)
  migrate                            apply pending migrations and exit
  org set-plan ORG_ID PLAN           change the plan: community, freemium, starter,
                                     professional, business or free
  org deactivate ORG_ID              its keys stop validating (403) until activated
  org activate ORG_ID
  org set-period-end ORG_ID TIME     end of the paid period (RFC 3339, or none); after
                                     it, validation reports the plan free
  org set-trial-end ORG_ID TIME      end of the trial (RFC 3339, or none)

Changes apply at each key's next validation. Configuration comes from the
environment (DATABASE_URL, LICENSING_KEY_PEPPER, ...): see README.md.";

async fn run() -> Result<(), String> {
    let command = std::env::args().nth(1);
    match command.as_deref() {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("org") => organization_command(std::env::args().skip(2).collect()).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    }
}

async fn migrate() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url, settings.database_max_connections).await?;
    db.migrate().await?;
    println!("migrations applied ({:?})", db.engine);
    Ok(())
}

/// The operator's `org` subcommands: they change an organization directly in the
/// database, through the accounts service.
async fn organization_command(args: Vec<String>) -> Result<(), String> {
    use storno_licensing::accounts::service::OrganizationAdmin;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (command, organization, value) = match args.as_slice() {
        [command, organization] => (*command, *organization, None),
        [command, organization, value] => (*command, *organization, Some(*value)),
        _ => return Err(format!("expected: org COMMAND ORG_ID [VALUE]\n\n{USAGE}")),
    };
    let organization = uuid::Uuid::parse_str(organization)
        .map_err(|_| format!("{organization:?} is not an organization id"))?;
    let time = |value: Option<&str>| -> Result<Option<i64>, String> {
        match value {
            Some("none") => Ok(None),
            Some(text) => storno_licensing::clock::parse_rfc3339(text)
                .map(Some)
                .ok_or_else(|| format!("{text:?} is not an RFC 3339 time")),
            None => Err("a time (RFC 3339) or none is required".into()),
        }
    };
    let settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url, settings.database_max_connections).await?;
    db.migrate().await?;
    let accounts = OrganizationAdmin::new(db.pool.clone());
    let result = match (command, value) {
        ("set-plan", Some(plan)) => accounts.set_plan(organization, plan).await,
        ("deactivate", None) => accounts.set_active(organization, false).await,
        ("activate", None) => accounts.set_active(organization, true).await,
        ("set-period-end", value) => {
            accounts
                .set_current_period_end(organization, time(value)?)
                .await
        }
        ("set-trial-end", value) => accounts.set_trial_end(organization, time(value)?).await,
        _ => return Err(format!("unknown or incomplete org command\n\n{USAGE}")),
    };
    result.map_err(|error| error.to_string())?;
    println!("organization {organization}: {command} done");
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
