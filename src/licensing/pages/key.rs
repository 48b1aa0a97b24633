//! `/keys/{id}` (owner only): one key over time. Charts of each reported metric
//! against its plan's limit and of validations per day (SVG drawn on the server,
//! so they read without JavaScript), the same numbers as a table and a CSV
//! download, and the key's timeline.

use crate::accounts::context::AccountContext;
use crate::accounts::domain::Role;
use crate::accounts::pages::gates::{NotOwnerNotice, RequireOrganization};
use crate::accounts::{OrganizationDto, SignedIn};
#[cfg(feature = "ssr")]
use crate::audit::service::AuditLog;
use crate::audit::AuditEventDto;
use crate::components::LoadError;
use crate::error::PageError;
use crate::licensing::pages::keys::{short_date, status_badge};
#[cfg(feature = "ssr")]
use crate::licensing::service::LicensingService;
use crate::licensing::usage::{metric_title, UsageChart, UsageDayDto, METRICS};
use crate::licensing::KeyActivity;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

/// How far back the page looks.
pub(crate) const PAGE_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyUsageOverview {
    pub(crate) key: KeyActivity,
    pub(crate) plan: String,
    /// The days with validations, oldest first.
    pub(crate) days: Vec<UsageDayDto>,
    pub(crate) charts: Vec<UsageChart>,
    pub(crate) events: Vec<AuditEventDto>,
}

#[server(prefix = "/rpc", endpoint = "key_overview", output = crate::rpc::JsonText)]
pub(crate) async fn key_overview(id: String) -> Result<KeyUsageOverview, PageError> {
    use crate::error::AppError;
    let actor = crate::accounts::session::page_member().await?;
    let key_id = crate::parse::path_id(&id, AppError::LicenseKeyNotFound)?;
    let membership = &actor.membership;
    let now = crate::clock::now();
    let usage = service::<LicensingService>()?
        .key_usage(membership, key_id, PAGE_DAYS)
        .await?;
    let today = crate::licensing::service::day_of(now);
    let charts = crate::licensing::pages::charts::usage_charts(
        &usage.days,
        &usage.features,
        today - PAGE_DAYS + 1,
        today,
    )
    .map_err(AppError::Internal)?;
    Ok(KeyUsageOverview {
        key: usage.key.activity(now),
        plan: membership.to_dto().plan,
        days: usage.days,
        charts,
        events: service::<AuditLog>()?
            .key_timeline(membership, key_id)
            .await?,
    })
}

#[component]
pub(crate) fn KeyPage() -> impl IntoView {
    let params = use_params_map();
    // Made here, once: the view below waits for the session and may be built twice.
    let context = AccountContext::get();
    let overview = Resource::new(
        move || {
            let id = params.read().get("id").unwrap_or_default();
            (id, context.organization_changes())
        },
        |(id, _)| key_overview(id),
    );
    view! {
        <Title text="License key · Storno Licensing"/>
        <p class="breadcrumb"><a href="/keys">"← License keys"</a></p>
        <RequireOrganization member_view=move |_: SignedIn, current: OrganizationDto| {
            if current.role == Role::Owner {
                view! { <KeyDetails overview/> }.into_any()
            } else {
                view! {
                    <NotOwnerNotice page="License key" title="Only the owner can see a key's usage" current>
                        "Ask its owner."
                    </NotOwnerNotice>
                }
                .into_any()
            }
        }/>
    }
}

#[component]
fn KeyDetails(overview: Resource<Result<KeyUsageOverview, PageError>>) -> impl IntoView {
    view! {
        {move || Suspend::new(async move {
            match overview.await {
                Ok(overview) => view! { <Overview overview/> }.into_any(),
                Err(error) => view! {
                    <h1>"License key"</h1>
                    <LoadError error/>
                }
                .into_any(),
            }
        })}
    }
}

#[component]
fn Overview(overview: KeyUsageOverview) -> impl IntoView {
    let key = overview.key.key.clone();
    let title = key
        .instance_name
        .clone()
        .unwrap_or_else(|| format!("Key {}", key.license_key));
    let (status_class, status_text) = status_badge(&overview.key.state);
    let used = !overview.days.is_empty();
    view! {
        <h1>{title}</h1>
        <section class="card" data-testid="key-summary">
            <p>
                <code class="masked-key">{key.license_key.clone()}</code> " "
                <span class=format!("badge {status_class}") data-testid="key-state">{status_text}</span>
            </p>
            <p class="hint">
                "Plan " <strong>{overview.plan.clone()}</strong> " · created " {short_date(&key.created_at)}
                " · last validated " {overview.key.last_validated.clone().unwrap_or_else(|| "never".into())}
                {key.instance_url.clone().map(|url| view! { " · " <span>{url}</span> })}
            </p>
        </section>
        <section class="card" data-testid="usage">
            <h2>"The last " {PAGE_DAYS} " days"</h2>
            {if used {
                view! {
                    <div class="charts">
                        {overview.charts.into_iter().map(|chart| view! { <ChartFigure chart/> }).collect_view()}
                    </div>
                }
                .into_any()
            } else {
                view! {
                    <p class="empty" data-testid="no-usage">
                        "No validations yet. Once an instance validates this key, its users, companies, invoices and daily validations appear here, day by day, against your plan's limits."
                    </p>
                }
                .into_any()
            }}
        </section>
        {used.then(|| view! { <UsageTable days=overview.days.clone()/> })}
        <Timeline events=overview.events/>
    }
}

#[component]
fn ChartFigure(chart: UsageChart) -> impl IntoView {
    let caption = match chart.limit {
        Some(limit) => format!(
            "{}: the red line is your plan's limit ({limit})",
            chart.title
        ),
        None => format!("{}: no limit on your plan", chart.title),
    };
    view! {
        <figure class="chart" data-metric=chart.metric.clone()>
            <figcaption>{caption}</figcaption>
            // Drawn on the server from numbers only (no user text), by plotters.
            <div class="chart-svg" inner_html=chart.svg></div>
        </figure>
    }
}

/// The charts' numbers, as a table and as a CSV download.
#[component]
fn UsageTable(days: Vec<UsageDayDto>) -> impl IntoView {
    let csv_href = format!(
        "data:text/csv;charset=utf-8,{}",
        percent_encode(&usage_csv(&days))
    );
    view! {
        <section class="card" data-testid="usage-table">
            <h2>"Day by day"</h2>
            <p><a class="button" href=csv_href download="key-usage.csv" data-testid="usage-csv">"Download CSV"</a></p>
            <div class="table-wrap">
                <table class="keys">
                    <thead>
                        <tr>
                            <th>"Day (UTC)"</th>
                            <th>"Validations"</th>
                            {METRICS.map(|metric| view! { <th>{metric_title(metric)} " (max)"</th> }).collect_view()}
                            <th>"Instances"</th>
                            <th>"Violations"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {days.into_iter().rev().map(|day| view! {
                            <tr>
                                <td data-label="Day">{day.date.clone()}</td>
                                <td data-label="Validations">{day.validations}</td>
                                {METRICS.map(|metric| view! {
                                    <td data-label=metric_title(metric)>
                                        {day.metrics.get(metric).map(|m| m.max.to_string()).unwrap_or_else(|| "—".into())}
                                    </td>
                                }).collect_view()}
                                <td data-label="Instances">{instances_of(&day)}</td>
                                <td data-label="Violations">
                                    <ul class="violations">{day.violations.into_iter().map(|v| view! { <li>{v}</li> }).collect_view()}</ul>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Timeline(events: Vec<AuditEventDto>) -> impl IntoView {
    view! {
        <section class="card" data-testid="timeline">
            <h2>"Timeline"</h2>
            <ol class="timeline">
                {events.into_iter().map(|event| view! {
                    <li>
                        <time datetime=event.created_at.clone()>{short_date(&event.created_at)}</time>
                        " " <strong>{event_title(&event.action)}</strong>
                        {event_detail(&event).map(|detail| view! { " — " <span>{detail}</span> })}
                        {event.actor_email.clone().map(|email| view! { <span class="hint">" by " {email}</span> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

fn event_title(action: &str) -> String {
    match action {
        "license_key.created" => "Created".into(),
        "license_key.activated" => "Activated (first validation)".into(),
        "license_key.new_instance_url" => "New instance URL".into(),
        "license_key.rotated" => "Rotated".into(),
        "license_key.revoked" => "Revoked".into(),
        "license_key.offline_license_issued" => "Offline license issued".into(),
        other => other.to_string(),
    }
}

fn event_detail(event: &AuditEventDto) -> Option<String> {
    let details = event.details.as_ref()?;
    let text = |name: &str| {
        details
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    text("instanceUrl")
        .or_else(|| text("expiresAt").map(|until| format!("valid until {}", short_date(&until))))
        .or_else(|| text("replacedBy").map(|id| format!("replaced by key {id}")))
}

/// A day's instance URLs, and how many more were seen beyond those listed.
fn instances_of(day: &UsageDayDto) -> String {
    match day.more_instance_urls {
        0 => day.instance_urls.join(", "),
        more => format!("{} and {more} more", day.instance_urls.join(", ")),
    }
}

/// The days as CSV: one row per day, one column per metric's max and last.
pub(crate) fn usage_csv(days: &[UsageDayDto]) -> String {
    let mut csv = String::from("date,validations");
    for metric in METRICS {
        csv.push_str(&format!(",{metric}_max,{metric}_last"));
    }
    csv.push_str(",instance_urls,violations\n");
    for day in days {
        csv.push_str(&format!("{},{}", day.date, day.validations));
        for metric in METRICS {
            match day.metrics.get(metric) {
                Some(rollup) => csv.push_str(&format!(",{},{}", rollup.max, rollup.last)),
                None => csv.push_str(",,"),
            }
        }
        csv.push_str(&format!(
            ",{},{}\n",
            csv_field(&day.instance_urls.join(" ")),
            csv_field(&day.violations.join(" | "))
        ));
    }
    csv
}

/// A field quoted as RFC 4180 asks; a leading formula character is defused, as
/// spreadsheets would run it.
fn csv_field(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{text}"),
        _ => text.to_string(),
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licensing::usage::MetricRollup;

    #[test]
    fn the_csv_has_a_row_per_day_and_quotes_what_it_must() {
        let day = UsageDayDto {
            date: "2026-11-29".into(),
            validations: 3,
            instance_urls: vec!["https://a".into(), "https://b".into()],
            more_instance_urls: 0,
            metrics: [("userCount".to_string(), MetricRollup { max: 4, last: 2 })].into(),
            violations: vec!["=cmd \"x\"".into()],
        };
        let csv = usage_csv(&[day]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "date,validations,userCount_max,userCount_last,companyCount_max,companyCount_last,invoicesThisMonth_max,invoicesThisMonth_last,orgCount_max,orgCount_last,instance_urls,violations"
        );
        assert_eq!(
            lines[1],
            r#"2026-11-29,3,4,2,,,,,,,"https://a https://b","'=cmd ""x""""#
        );
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn percent_encoding_keeps_a_data_url_intact() {
        assert_eq!(percent_encode("a b\n\"#%"), "a%20b%0A%22%23%25");
    }
}
