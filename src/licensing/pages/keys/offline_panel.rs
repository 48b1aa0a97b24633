//! Offline licenses on the keys page: the list, the form and the one-time reveal.

use super::*;
use crate::browser;
use crate::components::FormError;
use crate::licensing::{IssuedOfflineLicenseDto, OfflineLicenseDto};

/// A key's offline licenses that still work: they outlive a revocation.
#[component]
pub(super) fn OfflineLicenseList(offline: Vec<OfflineLicenseDto>) -> impl IntoView {
    (!offline.is_empty()).then(|| {
        view! {
            <ul class="offline-licenses hint" data-testid="offline-licenses">
                {offline
                    .into_iter()
                    .map(|license| {
                        let by = license.issued_by.unwrap_or_else(|| "a former member".into());
                        view! {
                            <li>
                                "Offline license (" {license.plan} ") until "
                                <time datetime=license.expires_at.clone()>{short_date(&license.expires_at)}</time>
                                ", issued by " {by}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

/// After a revocation: the key's offline licenses that keep working regardless.
#[component]
pub(super) fn RevokeNotice(revoke: ServerAction<RevokeLicenseKey>) -> impl IntoView {
    move || {
        let unexpired = revoke.value().get()?.ok()?;
        let last = unexpired.iter().map(|l| l.expires_at.clone()).max()?;
        Some(view! {
            <p class="notice" role="status" data-testid="revoke-notice">
                {format!(
                    "Revoked. {} offline license(s) of this key still work until {}: they cannot be recalled.",
                    unexpired.len(),
                    short_date(&last)
                )}
            </p>
        })
    }
}

/// Asks how long an offline license should last, then shows it once.
#[component]
pub(super) fn OfflineLicensePanel(
    issue: ServerAction<IssueOfflineLicense>,
    offline_for: RwSignal<Option<OfflineTarget>>,
) -> impl IntoView {
    // A new target starts from the form, never from another key's license.
    Effect::new(move |_| {
        offline_for.track();
        issue.clear();
    });
    let close = Callback::new(move |_| {
        offline_for.set(None);
        issue.clear();
    });
    move || {
        offline_for.get().map(|target| {
            let issued = move || issue.value().get().and_then(Result::ok);
            view! {
                <section class="card reveal" role="region" aria-labelledby="offline-title" data-testid="offline-license">
                    <h2 id="offline-title">"Offline license for " {target.label.clone()}</h2>
                    {move || match issued() {
                        Some(license) => view! { <OfflineReveal license on_close=close/> }.into_any(),
                        None => view! { <OfflineLicenseForm issue id=target.id.clone() on_cancel=close/> }.into_any(),
                    }}
                </section>
            }
        })
    }
}

#[component]
pub(super) fn OfflineLicenseForm(
    issue: ServerAction<IssueOfflineLicense>,
    id: String,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <p>
            "An offline license is a signed token an instance verifies by itself, for instances that cannot reach this server. "
            "It works until it expires, even if the key is revoked."
        </p>
        <ActionForm action=issue>
            <input type="hidden" name="id" value=id/>
            <div class="field">
                <label for="offline_days">"Valid for (days, 1 to 365)"</label>
                <input id="offline_days" name="days" type="number" min="1" max="365" value="30" required/>
            </div>
            <FormError result=Signal::derive(move || issue.value().get())/>
            <button type="submit" class="primary" disabled=move || issue.pending().get()>"Create offline license"</button>
            <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
        </ActionForm>
    }
}

/// The signed license, once: download or copy it before closing.
#[component]
pub(super) fn OfflineReveal(
    license: IssuedOfflineLicenseDto,
    on_close: Callback<()>,
) -> impl IntoView {
    let saved = RwSignal::new(false);
    let jwt = StoredValue::new(license.jwt.clone());
    let close = close_when_saved(
        "offline-license",
        saved,
        "You have not downloaded or copied this offline license. It will never be shown again. Close anyway?",
        on_close,
    );
    let copy = move |_| {
        leptos::task::spawn_local(async move {
            saved.set(browser::copy_to_clipboard(&jwt.get_value()).await || saved.get_untracked());
        });
    };
    let download = format!("data:application/jwt;charset=utf-8,{}", license.jwt);
    view! {
        <p class="warning">
            <strong>"Download or copy this license now: it is shown only once."</strong>
            " It carries the plan " <strong>{license.plan}</strong> " and works until "
            <time datetime=license.expires_at.clone()>{short_date(&license.expires_at)}</time>
            ", without contacting this server."
        </p>
        <div class="key-box">
            <code class="license-jwt" data-testid="offline-jwt">{license.jwt}</code>
        </div>
        <p>
            <a class="button primary" href=download download="storno-offline-license.jwt" on:click=move |_| saved.set(true)>"Download offline license"</a>
            " "
            <button type="button" class="secondary" on:click=copy>{move || if saved.get() { "Saved" } else { "Copy" }}</button>
        </p>
        <button type="button" class="secondary" on:click=close>"I have saved it, close"</button>
    }
}
