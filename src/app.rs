//! The root component, the HTML shell and the routes.

use crate::accounts::context::AccountContext;
use crate::accounts::pages::account::AccountPage;
use crate::accounts::pages::email::{ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage};
use crate::accounts::pages::organization::OrganizationPage;
use crate::accounts::pages::sign_in::{AccountBar, HomePage, SignInPage, SignUpPage};
use crate::audit::pages::activity::ActivityPage;
use crate::audit::pages::my_activity::my_activity_section;
use crate::billing::pages::BillingPage;
use crate::licensing::pages::key::KeyPage;
use crate::licensing::pages::keys::LicenseKeysPage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

pub(crate) fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::web::page_policy::page_content_security_policy();
    let preloads = crate::split_preloads::shown_routes_preloads();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
                {preloads}
            </body>
        </html>
    }
}

#[component]
pub(crate) fn App() -> impl IntoView {
    provide_meta_context();
    AccountContext::provide();
    // End-to-end tests wait for this marker before they click anything.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/storno-licensing.css"/>
        <Title text="Storno Licensing"/>
        <Router>
            <header class="topbar">
                <a href="/" class="brand">"Storno Licensing"</a>
                <AccountBar/>
            </header>
            <main>
                // Async rendering lets a signed-out visitor get a real redirect.
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view={Lazy::<Home>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/sign-up") view={Lazy::<SignUp>::new()}/>
                    <Route path=path!("/sign-in") view={Lazy::<SignIn>::new()}/>
                    <Route path=path!("/verify-email") view={Lazy::<VerifyEmail>::new()}/>
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPassword>::new()}/>
                    <Route path=path!("/reset-password") view={Lazy::<ResetPassword>::new()}/>
                    <Route path=path!("/keys") view={Lazy::<LicenseKeys>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/keys/:id") view={Lazy::<Key>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/organization") view={Lazy::<Organization>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/activity") view={Lazy::<Activity>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account") view={Lazy::<Account>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/settings/billing") view={Lazy::<Billing>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// Every page is a lazy route: the browser downloads a page's code (a chunk of the
/// bundle, with `cargo leptos build --split`) when it first shows that page, so the
/// first download is the shell and the header alone. The pages load their own data.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }
            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    Home => HomePage,
    SignUp => SignUpPage,
    SignIn => SignInPage,
    VerifyEmail => VerifyEmailPage,
    ForgotPassword => ForgotPasswordPage,
    ResetPassword => ResetPasswordPage,
    LicenseKeys => LicenseKeysPage,
    Key => KeyPage,
    Organization => OrganizationPage,
    Activity => ActivityPage,
    Billing => BillingPage,
}

/// The Account page, with the person's own activity (the audit feature's) below.
struct Account;

#[lazy_route]
impl LazyRoute for Account {
    fn data() -> Self {
        Self
    }
    fn view(_this: Self) -> AnyView {
        view! { <AccountPage activity=my_activity_section()/> }.into_any()
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Storno Licensing"/>
        <section class="card narrow">
            <h1>"Page not found"</h1>
            <p><a href="/">"Go to the start page"</a></p>
        </section>
    }
}
