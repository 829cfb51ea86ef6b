//! A list's filter, sort, page and page size, kept in the URL: a shared link shows
//! the same rows, and Back after opening a row comes back to them.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_url};
use leptos_router::NavigateOptions;

use crate::table::{group_digits, page_count, Column, Direction};

pub const PAGE_SIZES: [usize; 5] = [10, 20, 50, 100, 1000];
pub const DEFAULT_PAGE_SIZE: usize = 50;

const SORT: &str = "sort";
const DIRECTION: &str = "dir";
const PAGE: &str = "page";
const SIZE: &str = "size";

/// Changes to the query: a key with `None` is removed.
pub type QueryChange = Vec<(&'static str, Option<String>)>;

/// Writes query changes into the URL. `replace` for changes made while typing, so
/// Back skips the keystrokes.
#[derive(Clone, Copy)]
pub struct QueryWriter(Callback<(QueryChange, bool)>);

impl QueryWriter {
    pub fn new() -> QueryWriter {
        let url = use_url();
        let navigate = use_navigate();
        QueryWriter(Callback::new(
            move |(changes, replace): (QueryChange, bool)| {
                let (path, mut params) =
                    url.with_untracked(|u| (u.path().to_string(), u.search_params().clone()));
                for (key, value) in changes {
                    match value {
                        Some(value) => params.replace(key, value),
                        None => {
                            params.remove(key);
                        }
                    }
                }
                let query = params.to_query_string();
                navigate(
                    &format!("{path}{query}"),
                    NavigateOptions {
                        replace,
                        scroll: false,
                        ..Default::default()
                    },
                );
            },
        ))
    }

    pub fn write(&self, changes: QueryChange, replace: bool) {
        self.0.run((changes, replace));
    }
}

impl Default for QueryWriter {
    fn default() -> Self {
        QueryWriter::new()
    }
}

/// The URL state of one list.
#[derive(Clone, Copy)]
pub struct ListQuery<C: Column> {
    /// The query key of the text filter (`q`, `tag`).
    filter_key: &'static str,
    pub filter: Memo<String>,
    pub sort: Memo<(C, Direction)>,
    /// 1-based; may point past the end until the rows are known.
    pub page: Memo<usize>,
    pub size: Memo<usize>,
    default_sort: (C, Direction),
    writer: QueryWriter,
}

impl<C: Column> ListQuery<C> {
    pub fn new(filter_key: &'static str, default_sort: (C, Direction)) -> ListQuery<C> {
        let url = use_url();
        let get =
            move |key: &'static str| Memo::new(move |_| url.with(|u| u.search_params().get(key)));
        let (filter_raw, sort_raw, direction_raw, page_raw, size_raw) = (
            get(filter_key),
            get(SORT),
            get(DIRECTION),
            get(PAGE),
            get(SIZE),
        );
        ListQuery {
            filter_key,
            filter: Memo::new(move |_| filter_raw.get().unwrap_or_default()),
            sort: Memo::new(move |_| {
                let column = sort_raw.get().and_then(|s| C::from_id(&s));
                let direction = direction_raw.get().and_then(|d| Direction::from_id(&d));
                match (column, direction) {
                    (Some(c), Some(d)) => (c, d),
                    (Some(c), None) => (c, default_sort.1),
                    _ => default_sort,
                }
            }),
            page: Memo::new(move |_| {
                page_raw
                    .get()
                    .and_then(|p| p.parse().ok())
                    .filter(|p: &usize| *p >= 1)
                    .unwrap_or(1)
            }),
            size: Memo::new(move |_| {
                size_raw
                    .get()
                    .and_then(|s| s.parse().ok())
                    .filter(|s| PAGE_SIZES.contains(s))
                    .unwrap_or(DEFAULT_PAGE_SIZE)
            }),
            default_sort,
            writer: QueryWriter::new(),
        }
    }

    /// A new filter text starts again at page 1.
    pub fn set_filter(&self, text: String) {
        let value = (!text.is_empty()).then_some(text);
        self.writer
            .write(vec![(self.filter_key, value), (PAGE, None)], true);
    }

    /// Clicking the sorted column flips it; another column starts at `first`.
    pub fn sort_by(&self, column: C, first: Direction) {
        let (current, direction) = self.sort.get_untracked();
        let next = if current == column {
            (column, direction.flip())
        } else {
            (column, first)
        };
        let value = (next != self.default_sort).then_some(next);
        self.writer.write(
            vec![
                (SORT, value.map(|(c, _)| c.id().to_string())),
                (DIRECTION, value.map(|(_, d)| d.id().to_string())),
                (PAGE, None),
            ],
            false,
        );
    }

    pub fn go_to(&self, page: usize) {
        let value = (page > 1).then(|| page.to_string());
        self.writer.write(vec![(PAGE, value)], false);
    }

    pub fn set_size(&self, size: usize) {
        let value = (size != DEFAULT_PAGE_SIZE).then(|| size.to_string());
        self.writer.write(vec![(SIZE, value), (PAGE, None)], false);
    }

    /// Writes other keys of the same URL (e.g. the images tab's tag status).
    pub fn write(&self, changes: QueryChange, replace: bool) {
        let mut changes = changes;
        changes.push((PAGE, None));
        self.writer.write(changes, replace);
    }
}

/// The text filter: its value is the URL's, so Back restores it too.
#[component]
pub fn FilterInput<C: Column>(
    list: ListQuery<C>,
    #[prop(into)] label: String,
    #[prop(into)] placeholder: String,
) -> impl IntoView {
    view! {
        <label class="inline">{label}
            <input type="search" data-testid="filter" placeholder=placeholder
                prop:value=move || list.filter.get()
                on:input=move |ev| list.set_filter(event_target_value(&ev))/>
        </label>
    }
}

#[component]
pub fn PageSizeSelect<C: Column>(list: ListQuery<C>) -> impl IntoView {
    view! {
        <label class="inline">"Page size"
            <select on:change=move |ev| list.set_size(event_target_value(&ev).parse().unwrap_or(DEFAULT_PAGE_SIZE))>
                {PAGE_SIZES.iter().map(|n| view! {
                    <option value=n.to_string() selected=move || list.size.get() == *n>{n.to_string()}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// Previous / Next and "Page 2 of 21", over `total` rows.
#[component]
pub fn PagerNav<C: Column>(
    list: ListQuery<C>,
    #[prop(into)] total: Signal<usize>,
    #[prop(into)] label: String,
) -> impl IntoView {
    // Closures, not memos: see the row count in the list pages.
    let pages = move || page_count(total.get(), list.size.get());
    let page = move || list.page.get().min(pages());
    view! {
        <nav class="pager" aria-label=label>
            <button type="button" class="secondary" disabled=move || { page() <= 1 }
                on:click=move |_| list.go_to(page() - 1)>"Previous page"</button>
            <span data-testid="page-number">{move || format!("Page {} of {}", group_digits(page()), group_digits(pages()))}</span>
            <button type="button" class="secondary" disabled=move || { page() >= pages() }
                on:click=move |_| list.go_to(page() + 1)>"Next page"</button>
        </nav>
    }
}

/// A sortable column header: clicking sorts by `column`, again flips the direction.
/// `first` is the direction a newly chosen column starts in.
pub fn sort_header<C: Column>(
    label: &'static str,
    column: C,
    list: ListQuery<C>,
    first: Direction,
) -> impl IntoView {
    let aria = move || {
        let (c, d) = list.sort.get();
        if c == column {
            d.aria()
        } else {
            "none"
        }
    };
    view! {
        <th aria-sort=aria>
            <button type="button" class="sort" on:click=move |_| list.sort_by(column, first)>{label}</button>
        </th>
    }
}
