//! Server paging for a list screen: the page size (kept for the tab's session), the
//! `nextToken` pager, and the controls for both.

use leptos::prelude::*;

use crate::table::Pager;

pub const PAGE_SIZES: [i64; 5] = [10, 20, 50, 100, 1000];
const DEFAULT_PAGE_SIZE: i64 = 50;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

#[derive(Clone, Copy)]
pub struct Paging {
    pub size: RwSignal<i64>,
    pub pager: RwSignal<Pager>,
    /// The token of the current page. A memo, so recording the next page's token
    /// does not refetch the current one.
    pub token: Memo<Option<String>>,
    storage_key: &'static str,
}

impl Paging {
    pub fn new(storage_key: &'static str) -> Paging {
        let stored = storage()
            .and_then(|s| s.get_item(storage_key).ok().flatten())
            .and_then(|v| v.parse().ok())
            .filter(|n| PAGE_SIZES.contains(n))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let pager = RwSignal::new(Pager::new());
        Paging {
            size: RwSignal::new(stored),
            pager,
            token: Memo::new(move |_| pager.with(Pager::current_token)),
            storage_key,
        }
    }

    /// Back to the first page (after a filter or page-size change).
    pub fn reset(&self) {
        self.pager.set(Pager::new());
    }

    fn set_size(&self, size: i64) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(self.storage_key, &size.to_string());
        }
        self.size.set(size);
        self.reset();
    }

    /// Keeps the pager's idea of the next page in step with each answer of `page`.
    pub fn follow<T, E>(
        &self,
        page: LocalResource<Result<T, E>>,
        next_token: impl Fn(&T) -> Option<String> + 'static,
    ) where
        T: Clone + 'static,
        E: Clone + 'static,
    {
        let pager = self.pager;
        Effect::new(move |_| {
            if let Some(Ok(response)) = page.get() {
                let next = next_token(&response);
                pager.update(|p| p.loaded(next));
            }
        });
    }
}

#[component]
pub fn PageSizeSelect(paging: Paging) -> impl IntoView {
    view! {
        <label class="inline">"Page size"
            <select on:change=move |ev| paging.set_size(event_target_value(&ev).parse().unwrap_or(DEFAULT_PAGE_SIZE))>
                {PAGE_SIZES.iter().map(|n| view! {
                    <option value=n.to_string() selected=move || paging.size.get() == *n>{n.to_string()}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

#[component]
pub fn PagerNav(paging: Paging, #[prop(into)] label: String) -> impl IntoView {
    let pager = paging.pager;
    view! {
        <nav class="pager" aria-label=label>
            <button type="button" class="secondary" disabled=move || !pager.with(Pager::has_previous)
                on:click=move |_| pager.update(Pager::go_previous)>"Previous page"</button>
            <span data-testid="page-number">{move || format!("Page {}", pager.with(Pager::page_number))}</span>
            <button type="button" class="secondary" disabled=move || !pager.with(Pager::has_next)
                on:click=move |_| pager.update(Pager::go_next)>"Next page"</button>
        </nav>
    }
}
