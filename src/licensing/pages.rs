//! The License keys page: create (with the one-time reveal), list, and an
//! explanation for anyone who is not the owner. Server functions only parse input
//! and call the licensing service.

use super::{CreatedLicenseKeyDto, LicenseKeyDto};
use crate::accounts::domain::Role;
use crate::accounts::pages::{FormError, RequireSignIn};
use crate::accounts::SignedIn;
use crate::browser;
use crate::error::PageError;
use leptos::prelude::*;
use leptos_meta::Title;

#[server(prefix = "/rpc", endpoint = "create_license_key")]
pub async fn create_license_key(instance_name: String) -> Result<CreatedLicenseKeyDto, PageError> {
    use super::key::InstanceName;
    use crate::error::AppError;
    let actor = crate::accounts::session::page_actor().await?;
    let instance_name = InstanceName::parse(&instance_name).map_err(AppError::from)?;
    let created = actor
        .state
        .licensing
        .create(&actor.membership, instance_name)
        .await?;
    Ok(created)
}

#[server(prefix = "/rpc", endpoint = "list_license_keys")]
pub async fn list_license_keys() -> Result<Vec<LicenseKeyDto>, PageError> {
    let actor = crate::accounts::session::page_actor().await?;
    Ok(actor.state.licensing.list(&actor.membership).await?)
}

#[component]
pub fn LicenseKeysPage() -> impl IntoView {
    view! {
        <Title text="License keys · Storno Licensing"/>
        <RequireSignIn signed_in_view=|signed_in: SignedIn| {
            if signed_in.current.role == Role::Owner {
                view! { <KeyManager organization=signed_in.current.name/> }.into_any()
            } else {
                view! { <NotOwner organization=signed_in.current.name role=signed_in.current.role/> }
                    .into_any()
            }
        }/>
    }
}

#[component]
fn NotOwner(organization: String, role: Role) -> impl IntoView {
    view! {
        <h1>"License keys"</h1>
        <section class="card notice" role="note" data-testid="not-owner">
            <h2>"Only the owner can manage license keys"</h2>
            <p>
                "You are " <strong>{format!("{role}")}</strong> " of " <strong>{organization}</strong> ". "
                "License keys unlock this organization's plan on self-hosted instances, so only its owner can create or view them."
            </p>
            <p>"Ask the owner for a key, or switch to an organization you own."</p>
        </section>
    }
}

#[component]
fn KeyManager(organization: String) -> impl IntoView {
    let create = ServerAction::<CreateLicenseKey>::new();
    let keys = Resource::new(move || create.version().get(), |_| list_license_keys());
    view! {
        <h1>"License keys"</h1>
        <p class="lede">"Each self-hosted Storno instance of " <strong>{organization}</strong> " should use its own key."</p>
        <section class="card">
            <h2>"Create a license key"</h2>
            <ActionForm action=create>
                <div class="field">
                    <label for="instance_name">"Instance name " <span class="hint">"(optional)"</span></label>
                    <input id="instance_name" name="instance_name" type="text" maxlength="255" placeholder="Production Server"/>
                </div>
                <FormError result=Signal::derive(move || create.value().get())/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create license key"</button>
            </ActionForm>
        </section>
        <div aria-live="polite">
            {move || create.value().get().and_then(Result::ok).map(|created| view! {
                <RevealPanel created on_close=Callback::new(move |_| create.clear())/>
            })}
        </div>
        <section class="card">
            <h2>"Keys"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(keys) if keys.is_empty() => view! {
                            <p class="empty">"No license keys yet."</p>
                        }
                        .into_any(),
                        Ok(keys) => view! { <KeyTable keys/> }.into_any(),
                        Err(error) => view! { <p class="form-error" role="alert">{error.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Shows a new key once, in full, with a copy button. Closing without copying
/// asks first, because the key can never be shown again.
#[component]
fn RevealPanel(created: CreatedLicenseKeyDto, on_close: Callback<()>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy_failed = RwSignal::new(false);
    let key = StoredValue::new(created.license_key.clone());
    let copy = move |_| {
        leptos::task::spawn_local(async move {
            let ok = browser::copy_to_clipboard(&key.get_value()).await;
            copied.set(ok);
            copy_failed.set(!ok);
        });
    };
    let close = move |_| {
        if copied.get_untracked()
            || browser::confirm(
                "You have not copied this license key. It will never be shown again. Close anyway?",
            )
        {
            on_close.run(());
        }
    };
    let label = created
        .instance_name
        .clone()
        .unwrap_or_else(|| "your instance".to_string());
    view! {
        <section class="card reveal" role="region" aria-labelledby="reveal-title" data-testid="reveal-panel">
            <h2 id="reveal-title">"New license key for " {label}</h2>
            <p class="warning">
                <strong>"Copy this key now: it is shown only once."</strong>
                " We keep only a fingerprint of it, so nobody can display it again. If you lose it, create a new key."
            </p>
            <div class="key-box">
                <code class="license-key" data-testid="revealed-key">{created.license_key}</code>
                <button type="button" class="primary" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="copy-status" role="status">
                {move || {
                    if copied.get() {
                        "The key is on your clipboard."
                    } else if copy_failed.get() {
                        "Copying failed: select the key and copy it by hand."
                    } else {
                        ""
                    }
                }}
            </p>
            <button type="button" class="secondary" on:click=close>"I have saved it, close"</button>
        </section>
    }
}

#[component]
fn KeyTable(keys: Vec<LicenseKeyDto>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="keys">
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Instance"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last validated"</th>
                    </tr>
                </thead>
                <tbody>
                    {keys
                        .into_iter()
                        .map(|key| {
                            let status = if key.active { "active" } else { "revoked" };
                            view! {
                                <tr data-key-id=key.id.clone()>
                                    <td><code class="masked-key">{key.license_key}</code></td>
                                    <td>{key.instance_name.unwrap_or_else(|| "—".into())}</td>
                                    <td><span class=format!("badge {status}")>{status}</span></td>
                                    <td><time datetime=key.created_at.clone()>{short_date(&key.created_at)}</time></td>
                                    <td>{key.last_validated_at.as_deref().map(short_date).unwrap_or_else(|| "never".into())}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// `2026-02-20T10:30:00+00:00` as `2026-02-20 10:30 UTC`.
fn short_date(timestamp: &str) -> String {
    match (timestamp.get(0..10), timestamp.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => timestamp.to_string(),
    }
}
