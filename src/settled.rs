//! `Settled`: a view with nothing left to wait for, written into the page in one go.
//!
//! A page rendered asynchronously (every page with data) renders each element on
//! its asynchronous path, which gives every opening and closing tag a string of its
//! own before copying it into the page: a tenth of a 50-row list's cost
//! (bench/records/). A view that waits for nothing (no `Suspend` inside) renders
//! the same HTML on the synchronous path straight into the page's buffer. In the
//! browser `Settled` is its view, unchanged.

use leptos::tachys::html::attribute::{any_attribute::AnyAttribute, Attribute};
use leptos::tachys::hydration::Cursor;
use leptos::tachys::view::{add_attr::AddAnyAttr, Position, PositionState, Render, RenderHtml};

/// `view`, rendered on the server in one synchronous pass. It must not contain a
/// `Suspend` (what it would wait for is not awaited).
pub(crate) fn settled<V: RenderHtml>(view: V) -> Settled<V> {
    Settled(view)
}

pub(crate) struct Settled<V>(V);

impl<V: Render> Render for Settled<V> {
    type State = V::State;

    fn build(self) -> Self::State {
        self.0.build()
    }

    fn rebuild(self, state: &mut Self::State) {
        self.0.rebuild(state)
    }
}

impl<V: AddAnyAttr> AddAnyAttr for Settled<V> {
    type Output<SomeNewAttr: Attribute> = Settled<V::Output<SomeNewAttr>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        Settled(self.0.add_any_attr(attr))
    }
}

// `to_html_async_with_buf` is left to the trait's default: the synchronous path.
impl<V: RenderHtml> RenderHtml for Settled<V> {
    type AsyncOutput = Settled<V::AsyncOutput>;
    type Owned = Settled<V::Owned>;

    const MIN_LENGTH: usize = V::MIN_LENGTH;
    const EXISTS: bool = V::EXISTS;

    fn dry_resolve(&mut self) {
        self.0.dry_resolve()
    }

    async fn resolve(self) -> Self::AsyncOutput {
        Settled(self.0.resolve().await)
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.0
            .to_html_with_buf(buf, position, escape, mark_branches, extra_attrs)
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        self.0.hydrate::<FROM_SERVER>(cursor, position)
    }

    async fn hydrate_async(self, cursor: &Cursor, position: &PositionState) -> Self::State {
        self.0.hydrate_async(cursor, position).await
    }

    fn into_owned(self) -> Self::Owned {
        Settled(self.0.into_owned())
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::settled;
    use futures::StreamExt;
    use leptos::prelude::*;

    #[component]
    fn Row(name: String, uses: usize) -> impl IntoView {
        view! {
            <tr data-label="Key">
                <td class=format!("badge {}", if uses > 1 { "shared" } else { "active" })>{name}</td>
                <td>{uses} " uses"</td>
                {(uses > 1).then(|| view! { <td><button type="button">"Revoke"</button></td> })}
            </tr>
        }
    }

    fn table() -> impl IntoView {
        let rows = [("a<b", 1), ("\"quoted\" & more", 3)];
        view! {
            <table>
                {rows
                    .into_iter()
                    .map(|(name, uses)| view! { <Row name=name.to_string() uses/> })
                    .collect_view()}
            </table>
            "after " {"the table"}
        }
    }

    async fn rendered(view: impl IntoView) -> String {
        view.to_html_stream_in_order().collect::<String>().await
    }

    /// The browser hydrates what the server wrote: one pass must write exactly what
    /// the asynchronous path writes, markers and escaping included.
    #[tokio::test]
    async fn a_settled_view_renders_the_html_of_the_view() {
        let owner = Owner::new();
        owner.set();
        let html = rendered(table()).await;
        assert!(
            html.contains("a&lt;b") && html.contains("<button"),
            "{html}"
        );
        assert_eq!(rendered(settled(table())).await, html);
    }
}
