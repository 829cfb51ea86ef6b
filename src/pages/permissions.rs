//! The Permissions tab (policy editor and simulator).

use berth_model::ecr::Repository;
use leptos::prelude::*;

#[component]
pub fn PermissionsTab(repository: Repository) -> impl IntoView {
    view! { <p>{repository.repository_name}</p> }
}
