//! `/settings/billing` (owner only): the organization's plan, its features and
//! limits beside the other plans', and how to upgrade. Validation's `billingUrl`
//! points here unless the operator set `BILLING_URL`.

use crate::accounts::context::AccountContext;
use crate::accounts::domain::Role;
use crate::accounts::pages::gates::{NotOwnerNotice, RequireOrganization};
use crate::accounts::{OrganizationDto, SignedIn};
#[cfg(feature = "ssr")]
use crate::billing::service::BillingService;
use crate::components::LoadError;
use crate::error::PageError;
#[cfg(feature = "ssr")]
use crate::licensing::plan_table::PlanTable;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// One plan's column: its name and each feature's value as text, alphabetically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlanColumn {
    pub(crate) name: String,
    pub(crate) features: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BillingSummary {
    pub(crate) current_plan: String,
    pub(crate) plans: Vec<PlanColumn>,
    /// The operator's words and link on how to upgrade (`BILLING_UPGRADE_TEXT`, `_URL`).
    pub(crate) upgrade_text: Option<String>,
    pub(crate) upgrade_url: Option<String>,
    /// When the paid period or the trial ends (RFC 3339), if it does.
    pub(crate) period_end: Option<String>,
    pub(crate) trial_end: Option<String>,
    /// Each plan with a Stripe Payment Link: the plan and the link, naming this
    /// organization (`client_reference_id`) and its owner's email.
    pub(crate) payment_links: Vec<(String, String)>,
    /// The customer portal, once the organization has a subscription.
    pub(crate) portal_url: Option<String>,
}

#[server(prefix = "/rpc", endpoint = "billing_overview", output = crate::rpc::JsonText)]
pub(crate) async fn billing_overview() -> Result<BillingSummary, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    actor
        .membership
        .require_owner("Only the organization owner can see its billing")?;
    let plans = service::<PlanTable>()?.all().await?;
    let settings = service::<std::sync::Arc<crate::config::Settings>>()?;
    let organization = actor.membership.organization_id();
    let billing = service::<BillingService>()?;
    let standing = billing.standing(organization).await?;
    let payment_links = billing.payment_links(organization, &actor.user.email);
    let settings = &settings.licensing;
    Ok(BillingSummary {
        period_end: standing.current_period_end.map(crate::clock::rfc3339),
        trial_end: standing.trial_ends_at.map(crate::clock::rfc3339),
        payment_links,
        portal_url: billing.portal_url(&standing),
        current_plan: actor.membership.to_dto().plan,
        plans: plans
            .into_iter()
            .map(|plan| PlanColumn {
                features: plan.features.entries(),
                name: plan.name,
            })
            .collect(),
        upgrade_text: settings.upgrade_text.clone(),
        upgrade_url: settings.upgrade_url.clone(),
    })
}

#[component]
pub(crate) fn BillingPage() -> impl IntoView {
    // Made here, once: the view below waits for the session and may be built twice.
    let context = AccountContext::get();
    let overview = Resource::new(
        move || context.organization_changes(),
        |_| billing_overview(),
    );
    view! {
        <Title text="Billing · Storno Licensing"/>
        <RequireOrganization member_view=move |_: SignedIn, current: OrganizationDto| {
            if current.role == Role::Owner {
                view! { <PlanComparison organization=current.name overview/> }.into_any()
            } else {
                let plan = current.plan.clone();
                view! {
                    <NotOwnerNotice page="Billing" title="Only the owner can see billing" current>
                        "Its plan is " <strong>{plan}</strong> "; ask its owner about upgrading."
                    </NotOwnerNotice>
                }
                .into_any()
            }
        }/>
    }
}

#[component]
fn PlanComparison(
    organization: String,
    overview: Resource<Result<BillingSummary, PageError>>,
) -> impl IntoView {
    view! {
        <h1>"Billing"</h1>
        {move || Suspend::new({
            let organization = organization.clone();
            async move {
                match overview.await {
                    Ok(overview) => view! { <Overview organization overview/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            }
        })}
    }
}

#[component]
fn Overview(organization: String, overview: BillingSummary) -> impl IntoView {
    let current = overview.current_plan.clone();
    let self_hosts = overview
        .plans
        .iter()
        .find(|plan| plan.name == current)
        .is_some_and(|plan| {
            plan.features
                .iter()
                .any(|(name, value)| name == "selfHostingLicense" && value == "true")
        });
    let names: Vec<String> = overview
        .plans
        .iter()
        .map(|plan| plan.name.clone())
        .collect();
    let rows = comparison_rows(&overview.plans);
    view! {
        <section class="card" data-testid="current-plan">
            <h2>"Your plan: " {current.clone()}</h2>
            <p>
                <strong>{organization}</strong>
                {if self_hosts {
                    " is on a plan that includes self-hosting: its license keys validate."
                } else {
                    " is on a plan without self-hosting: its license keys are refused (403) until it moves to a plan that includes it (Business)."
                }}
            </p>
            {overview.trial_end.clone().map(|end| view! { <p data-testid="trial-end">"The trial ends " <time datetime=end.clone()>{short_time(&end)}</time> "."</p> })}
            {overview.period_end.clone().map(|end| view! { <p data-testid="period-end">"The paid period ends " <time datetime=end.clone()>{short_time(&end)}</time> "."</p> })}
            <Upgrade overview=overview.clone() current=current.clone()/>
        </section>
        <PlanTable names rows current/>
    }
}

/// How to move to another plan: the Stripe Payment Links (each naming this
/// organization), else the operator's words; and the customer portal once there is a
/// subscription.
#[component]
fn Upgrade(overview: BillingSummary, current: String) -> impl IntoView {
    let links: Vec<(String, String)> = overview
        .payment_links
        .into_iter()
        .filter(|(plan, _)| *plan != current)
        .collect();
    let by_links = !links.is_empty();
    view! {
        <h3>"How to upgrade"</h3>
        {(!by_links).then(|| view! {
            <p>{overview.upgrade_text.clone().unwrap_or_else(|| "Ask the operator of this licensing server to change your organization's plan.".into())}</p>
            {overview.upgrade_url.clone().map(|url| view! { <p><a class="button primary" href=url rel="noopener">"Upgrade"</a></p> })}
        })}
        {by_links.then(|| view! {
            <p class="actions">
                {links.into_iter().map(|(plan, link)| view! {
                    <a class="button primary" href=link data-plan=plan.clone() rel="noopener">{format!("Upgrade to {plan}")}</a>
                }).collect_view()}
            </p>
        })}
        {overview.portal_url.map(|url| view! {
            <p><a class="button secondary" href=url rel="noopener" data-testid="manage-subscription">"Manage subscription"</a></p>
        })}
    }
}

/// `2027-01-01T00:00:00+00:00` as `2027-01-01 00:00 UTC`.
fn short_time(rfc3339: &str) -> String {
    format!(
        "{} UTC",
        rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
    )
}

#[component]
fn PlanTable(
    names: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
    current: String,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Plans side by side"</h2>
            <div class="table-wrap">
                <table class="plans">
                    <thead>
                        <tr>
                            <th scope="col">"Feature"</th>
                            {names.iter().map(|name| {
                                let class = if *name == current { "current" } else { "" };
                                view! { <th scope="col" class=class>{name.clone()}{(*name == current).then_some(" (yours)")}</th> }
                            }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|(feature, values)| view! {
                            <tr>
                                <th scope="row">{words(&feature)}</th>
                                {values.into_iter().map(|value| view! { <td>{value}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// One row per feature: its name and each plan's value, as a person reads it.
fn comparison_rows(plans: &[PlanColumn]) -> Vec<(String, Vec<String>)> {
    let Some(first) = plans.first() else {
        return Vec::new();
    };
    first
        .features
        .iter()
        .enumerate()
        .map(|(index, (feature, _))| {
            let values = plans
                .iter()
                .map(|plan| {
                    plan.features
                        .get(index)
                        .map(|(_, value)| shown(feature, value))
                        .unwrap_or_default()
                })
                .collect();
            (feature.clone(), values)
        })
        .collect()
}

/// `maxUsersPerOrg` as `max users per org`.
fn words(feature: &str) -> String {
    let mut text = String::new();
    for c in feature.chars() {
        if c.is_ascii_uppercase() {
            text.push(' ');
        }
        text.push(c.to_ascii_lowercase());
    }
    text
}

/// A feature's value as a person reads it: 0 is unlimited for a limit, off for
/// the sync interval.
fn shown(feature: &str, value: &str) -> String {
    match (feature, value) {
        (_, "true") => "yes".into(),
        (_, "false") => "no".into(),
        ("syncIntervalSeconds", "0") => "off".into(),
        ("syncIntervalSeconds", seconds) => match seconds.parse::<u64>() {
            Ok(s) if s % 3600 == 0 => format!("every {} h", s / 3600),
            Ok(s) => format!("every {} min", s.div_ceil(60)),
            Err(_) => seconds.into(),
        },
        (limit, "0") if limit.starts_with("max") => "unlimited".into(),
        (_, other) => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_read_as_words_and_values() {
        assert_eq!(words("maxUsersPerOrg"), "max users per org");
        assert_eq!(shown("maxCompanies", "0"), "unlimited");
        assert_eq!(shown("maxCompanies", "3"), "3");
        assert_eq!(shown("syncIntervalSeconds", "14400"), "every 4 h");
        assert_eq!(shown("syncIntervalSeconds", "90"), "every 2 min");
        assert_eq!(shown("syncIntervalSeconds", "0"), "off");
        assert_eq!(shown("autoSync", "true"), "yes");
    }
}
