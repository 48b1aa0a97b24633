//! The `storno-licensing` command: serve (the default), apply migrations, and the
//! operator's commands to find and change organizations and users. Output is
//! tab-separated (one record a line, no header) so scripts can cut it; errors go
//! to standard error.
//!
//! Exit codes: 0 done; 1 the configuration or the database failed; 2 the command
//! line is wrong (clap's usage errors); 3 no such organization (or no release
//! yet); 4 a value was refused (an unknown plan or feature, a malformed time).

use crate::config::Settings;
use crate::db::Db;
use crate::error::AppError;
use crate::http::Application;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use uuid::Uuid;

mod operator;
use operator::{organization, plan, release, users};

const EXAMPLES: &str = "Examples:
  storno-licensing org list --search acme
  storno-licensing org show ORG_ID
  storno-licensing org set-plan ORG_ID business
  storno-licensing org deactivate ORG_ID        (and: org activate ORG_ID)
  storno-licensing org set-period-end ORG_ID 2027-01-01T00:00:00+00:00
  storno-licensing org set-trial-end ORG_ID none
  storno-licensing user list --search @example.com
  storno-licensing plan show business
  storno-licensing plan set starter selfHostingLicense true
  storno-licensing release set 2.7.6 --download-url https://example.com/storno-2.7.6.tar.gz --min 2.6.0
  storno-licensing new-answer-signing-key      (rotation: append it to ANSWER_SIGNING_KEYS)
  storno-licensing migrate

Changes apply at each key's next validation. Configuration comes from the
environment (DATABASE_URL, LICENSING_KEY_PEPPER, ...): see README.md.
Exit codes: 0 done, 1 configuration or database failed, 2 wrong command line,
3 no such organization (or no release yet), 4 a value was refused.";

#[derive(Parser)]
#[command(
    name = "storno-licensing",
    version,
    about = "Issues license keys for self-hosted Storno instances",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve (the default)
    Serve,
    /// Apply pending migrations and exit
    Migrate,
    /// Find and change organizations
    #[command(subcommand)]
    Org(OrgCommand),
    /// Find users
    #[command(subcommand)]
    User(UserCommand),
    /// Show and change what each plan includes
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Announce the latest Storno release (GET /api/v1/version)
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Print a new private key for signing validate's answers: append it to
    /// ANSWER_SIGNING_KEYS (or the answer-signing-keys file) to rotate
    NewAnswerSigningKey,
}

#[derive(Subcommand)]
enum PlanCommand {
    /// One "feature<TAB>value" a line; without NAME, one line per plan: name, then every feature=value
    Show { name: Option<String> },
    /// Change one feature of one plan: a whole number (0 = unlimited) or true/false
    Set {
        name: String,
        feature: String,
        value: String,
    },
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// The announced release, one "field<TAB>value" a line
    Show,
    /// Announce VERSION (MAJOR.MINOR.PATCH) as the latest release
    Set {
        version: String,
        /// Where to download it (http:// or https://)
        #[arg(long, value_name = "URL")]
        download_url: Option<String>,
        /// The oldest version still supported
        #[arg(long, value_name = "VERSION")]
        min: String,
        /// The web app's latest version, when it differs from VERSION
        #[arg(long, value_name = "VERSION")]
        latest: Option<String>,
        #[arg(long, value_name = "TEXT")]
        release_notes: Option<String>,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// One line per organization: id, name, plan, owner email, number of keys
    List {
        /// Only those whose name, id or owner's email contains TEXT (any case)
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
    /// Everything about one organization, one "field<TAB>value" a line
    Show {
        org_id: Uuid,
    },
    /// Change the plan: community, freemium, starter, professional, business or free.
    /// An organization with a Stripe subscription needs --override (its next event
    /// would set the plan again)
    SetPlan {
        org_id: Uuid,
        plan: String,
        #[arg(long = "override")]
        override_subscription: bool,
    },
    /// Its keys answer 403 until it is activated again
    Deactivate {
        org_id: Uuid,
    },
    Activate {
        org_id: Uuid,
    },
    /// End of the paid period (RFC 3339, or none); after it, validation reports the plan free
    SetPeriodEnd {
        org_id: Uuid,
        time: String,
    },
    /// End of the trial (RFC 3339, or none)
    SetTrialEnd {
        org_id: Uuid,
        time: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// One line per user: id, email, signed up at, number of organizations
    List {
        /// Only those whose email or id contains TEXT (any case)
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
}

/// Why a command failed, and the exit code that says so.
struct Failure {
    code: u8,
    message: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { code: 1, message }
    }
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Self {
        let code = match error {
            AppError::OrganizationNotFound | AppError::ReleaseNotPublished => 3,
            AppError::Validation(_) => 4,
            _ => 1,
        };
        let message = match &error {
            AppError::Database(source) => format!("database error: {source}"),
            other => other.to_string(),
        };
        Failure { code, message }
    }
}

impl Cli {
    pub async fn run(self) -> ExitCode {
        let outcome = match self.command.unwrap_or(Command::Serve) {
            Command::Serve => serve().await.map_err(Failure::from),
            Command::Migrate => migrate().await.map_err(Failure::from),
            Command::Org(command) => organization(command).await,
            Command::User(UserCommand::List { search }) => users(search).await,
            Command::Plan(command) => plan(command).await,
            Command::Release(command) => release(command).await,
            Command::NewAnswerSigningKey => {
                println!("{}", crate::licensing::answer_signing::new_private_key());
                Ok(())
            }
        };
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                eprintln!("storno-licensing: {}", failure.message);
                ExitCode::from(failure.code)
            }
        }
    }
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

/// The database, migrated, as the operator's commands use it.
async fn database() -> Result<Db, String> {
    let settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url, settings.database_max_connections).await?;
    db.migrate().await?;
    Ok(db)
}

async fn migrate() -> Result<(), String> {
    let db = database().await?;
    println!("migrations applied ({:?})", db.engine);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::operator::parse_time;
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed_and_documents_every_command() {
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        for command in [
            "serve",
            "migrate",
            "org",
            "user",
            "set-plan",
            "plan",
            "release",
            "Exit codes",
        ] {
            assert!(help.contains(command), "{command}");
        }
    }

    #[test]
    fn times_are_rfc_3339_or_none() {
        assert_eq!(parse_time("none").unwrap(), None);
        assert_eq!(parse_time("1970-01-01T00:01:00+00:00").unwrap(), Some(60));
        assert!(matches!(
            parse_time("tomorrow"),
            Err(AppError::Validation(_))
        ));
    }
}
