//! The Account page's "Your activity": a person's own sign-ins and API tokens,
//! which no organization sees.

use crate::audit::pages::activity::EventPages;
#[cfg(feature = "ssr")]
use crate::audit::service::AuditLog;
use crate::audit::AuditPageDto;
use crate::error::PageError;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[server(prefix = "/rpc", endpoint = "my_activity", output = crate::rpc::JsonText)]
pub(crate) async fn my_activity(before: Option<String>) -> Result<AuditPageDto, PageError> {
    let page = crate::accounts::session::page_user().await?;
    Ok(service::<AuditLog>()?
        .personal(page.user.id, &crate::db::Page::new(before, None))
        .await?)
}

/// The section, its data loaded once (the Account page may build its view twice).
pub(crate) fn my_activity_section() -> ViewFn {
    let query = use_query_map();
    let activity = Resource::new(move || query.read().get("before"), my_activity);
    ViewFn::from(move || view! { <MyActivity page=activity/> })
}

#[component]
fn MyActivity(page: Resource<Result<AuditPageDto, PageError>>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Your activity"</h2>
            <p class="hint">"Your sign-ins and API tokens. Only you see these."</p>
            <EventPages page path="/account"/>
        </section>
    }
}
