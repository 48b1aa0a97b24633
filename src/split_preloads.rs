//! The links that let the browser fetch the shown page's code early.
//!
//! The browser bundle is split (`cargo leptos build --split`): each page's code is in
//! files of its own, which a page names in `<link rel="preload">`s so that the browser
//! fetches them beside the main bundle, not after it. leptos_axum writes those links
//! itself, but reads which routes a render shows before an async page (every page with
//! data) has rendered its route, so those pages named none; it knows a route by a hash
//! of where it was declared, which a debug server and a release bundle do not share; and
//! it renders each link anew on every request, one leptos_meta `Link` each. Here the
//! lazy routes a render shows are collected in leptos_axum's place (its own list stays
//! empty, so it writes nothing), a route is known by its name, and each route's links
//! are rendered once, then kept. They end the `<body>`, after the app: the browser
//! hydrates the app alone, and a route is known once the app has rendered it.
//!
//! `PrefetchLazyFn` and `WasmSplitManifest` are Leptos's own (hidden) contexts; the
//! Leptos version is pinned, and the browser tests check the links each page carries
//! against the bundle's manifest, and that the browser uses them.

use leptos::prelude::IntoView;

/// The shown routes' preload links, to end the `<body>` with. Call it as the render
/// starts, before the app is built: from then on it collects the routes shown.
/// Nothing without a split bundle's manifest, and nothing in the browser.
pub(crate) fn shown_routes_preloads() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let shown = server::collect_shown_routes();
        move || server::preload_links(&shown)
    }
}

#[cfg(feature = "ssr")]
mod server {
    use leptos::prelude::*;
    use leptos::tachys::html::InertElement;
    use leptos::{PrefetchLazyFn, WasmSplitManifest};
    use std::collections::HashMap;
    use std::sync::OnceLock;

    /// Collects the lazy routes this render shows, in place of leptos_axum: called at
    /// the start of the render, on the render's root, it replaces leptos_axum's list.
    pub(super) fn collect_shown_routes() -> PrefetchLazyFn {
        let shown = PrefetchLazyFn::default();
        provide_context(shown.clone());
        shown
    }

    /// Each route's preload links, and the split loader's, written once: the manifest
    /// is read once per process (by `HydrationScripts`), so these never change.
    struct Links {
        by_route: HashMap<String, String>,
        loader: String,
    }

    pub(super) fn preload_links(shown: &PrefetchLazyFn) -> Option<InertElement> {
        static LINKS: OnceLock<Option<Links>> = OnceLock::new();
        let links = LINKS
            .get_or_init(|| {
                let manifest = use_context::<WasmSplitManifest>()?;
                let links = manifest.0.with_value(|(pkg_path, preloads, split_js)| Links {
                    by_route: preloads
                        .iter()
                        .map(|(route, files)| {
                            (route_name(route).to_string(), wasm_preloads(pkg_path, files))
                        })
                        .collect(),
                    loader: view! {
                        <link rel="modulepreload" href=format!("{pkg_path}/{split_js}") crossorigin="anonymous"/>
                    }
                    .to_html(),
                });
                Some(links)
            })
            .as_ref()?;
        let html = shown.0.with_value(|routes| {
            (!routes.is_empty()).then(|| {
                let mut html: String = routes
                    .iter()
                    .filter_map(|route| links.by_route.get(route_name(route)))
                    .map(String::as_str)
                    .collect();
                html.push_str(&links.loader);
                html
            })
        })?;
        Some(InertElement::new(html))
    }

    /// A lazy route's name without the hash of where it was declared
    /// (`__license_keys_view_10591806657630681837`): the server and the browser
    /// bundle are built apart, and the hash need not agree (it does not between a
    /// debug server and a release bundle).
    pub(super) fn route_name(key: &str) -> &str {
        match key.rsplit_once('_') {
            Some((name, hash)) if !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_digit()) => {
                name
            }
            _ => key,
        }
    }

    /// The attributes leptos_axum gives each file (its `crossorigin` holds the page's
    /// nonce, which the browser reads as `anonymous`).
    fn wasm_preloads(pkg_path: &str, files: &[String]) -> String {
        files
            .iter()
            .map(|file| {
                view! {
                    <link rel="preload" href=format!("{pkg_path}/{file}.wasm") r#as="fetch" r#type="application/wasm" crossorigin="anonymous"/>
                }
                .to_html()
            })
            .collect()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::server::route_name;

    #[test]
    fn a_route_is_known_by_its_name_whatever_the_hash() {
        assert_eq!(
            route_name("__license_keys_view_10591806657630681837"),
            "__license_keys_view"
        );
        assert_eq!(
            route_name("__license_keys_view_12163571166995044978"),
            "__license_keys_view"
        );
        assert_eq!(route_name("__sign_in_view"), "__sign_in_view");
        assert_eq!(route_name("plain"), "plain");
        assert_eq!(route_name("trailing_"), "trailing_");
    }
}
