//! The operator's commands on the database: organizations, users, plans and
//! releases, each printing what it did.

use super::*;
use crate::accounts::operator::{OrganizationAdmin, OrganizationSummary, UserSummary};
use crate::error::AppError;
use crate::licensing::plan_table::PlanTable;
use crate::releases::domain::NewRelease;
use crate::releases::service::ReleaseService;

pub(super) async fn organization(command: OrgCommand) -> Result<(), Failure> {
    let admin = OrganizationAdmin::new(database().await?.pool);
    let (done, organization) = match command {
        OrgCommand::List { search } => {
            for found in admin.list(search.as_deref()).await? {
                println!("{}", summary_line(&found));
            }
            return Ok(());
        }
        OrgCommand::Show { org_id } => {
            for (field, value) in admin.show(org_id).await? {
                println!("{field}\t{value}");
            }
            return Ok(());
        }
        OrgCommand::SetPlan {
            org_id,
            plan,
            override_subscription,
        } => {
            let set = match crate::licensing::plans::known_plan(&plan) {
                Ok(plan) => admin.set_plan(org_id, plan, override_subscription).await,
                Err(error) => Err(error),
            };
            (set, org_id)
        }
        OrgCommand::Deactivate { org_id } => (admin.set_active(org_id, false).await, org_id),
        OrgCommand::Activate { org_id } => (admin.set_active(org_id, true).await, org_id),
        OrgCommand::SetPeriodEnd { org_id, time } => (
            admin
                .set_current_period_end(org_id, parse_time(&time)?)
                .await,
            org_id,
        ),
        OrgCommand::SetTrialEnd { org_id, time } => (
            admin.set_trial_end(org_id, parse_time(&time)?).await,
            org_id,
        ),
    };
    done?;
    println!("organization {organization}: done");
    Ok(())
}

pub(super) async fn users(search: Option<String>) -> Result<(), Failure> {
    let admin = OrganizationAdmin::new(database().await?.pool);
    for user in admin.users(search.as_deref()).await? {
        println!("{}", user_line(&user));
    }
    Ok(())
}

pub(super) async fn plan(command: PlanCommand) -> Result<(), Failure> {
    let db = database().await?;
    let plans = PlanTable::new(db.pool, db.writes);
    let shown = match command {
        PlanCommand::Show { name: None } => {
            for plan in plans.all().await? {
                let features: Vec<String> = plan
                    .features
                    .entries()
                    .into_iter()
                    .map(|(feature, value)| format!("{feature}={value}"))
                    .collect();
                println!("{}\t{}", plan.name, features.join("\t"));
            }
            return Ok(());
        }
        PlanCommand::Show { name: Some(name) } => plans.get(&name).await?,
        PlanCommand::Set {
            name,
            feature,
            value,
        } => plans.set(&name, &feature, &value).await?,
    };
    for (feature, value) in shown.features.entries() {
        println!("{feature}\t{value}");
    }
    Ok(())
}

pub(super) async fn release(command: ReleaseCommand) -> Result<(), Failure> {
    let releases = ReleaseService::new(database().await?.pool);
    let release = match command {
        ReleaseCommand::Show => releases.latest().await?,
        ReleaseCommand::Set {
            version,
            download_url,
            min,
            latest,
            release_notes,
        } => {
            let release = NewRelease::parse(
                &version,
                download_url.as_deref(),
                &min,
                latest.as_deref(),
                release_notes.as_deref(),
            )
            .map_err(AppError::from)?;
            releases.publish(release).await?
        }
    };
    let none = || "-".to_string();
    println!("version\t{}", release.version);
    println!("downloadUrl\t{}", release.download_url.unwrap_or_else(none));
    println!("web.latest\t{}", release.web.latest);
    println!("web.min\t{}", release.web.min);
    println!(
        "web.releaseNotes\t{}",
        release.web.release_notes.unwrap_or_else(none)
    );
    Ok(())
}

/// An RFC 3339 time, or `none` for no time.
pub(super) fn parse_time(text: &str) -> Result<Option<i64>, AppError> {
    if text == "none" {
        return Ok(None);
    }
    crate::clock::parse_rfc3339(text)
        .map(Some)
        .ok_or_else(|| AppError::Validation(format!("{text:?} is not an RFC 3339 time or none")))
}

fn summary_line(found: &OrganizationSummary) -> String {
    let owner = found.owner_email.as_deref().unwrap_or("-");
    format!(
        "{}\t{}\t{}\t{owner}\t{}",
        found.id, found.name, found.plan, found.keys
    )
}

fn user_line(user: &UserSummary) -> String {
    let signed_up = crate::clock::rfc3339(user.created_at);
    format!(
        "{}\t{}\t{signed_up}\t{}",
        user.id, user.email, user.organizations
    )
}
