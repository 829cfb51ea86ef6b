//! Screens mounted and driven like a person would.

use berth_console::session;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::connection;

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Waits (up to 5 s) for an element matching `selector` inside `root`.
async fn find(root: &web_sys::Element, selector: &str) -> web_sys::Element {
    for _ in 0..250 {
        if let Ok(Some(found)) = root.query_selector(selector) {
            return found;
        }
        sleep(20).await;
    }
    panic!("no element matches {selector}: {}", root.inner_html());
}

fn type_into(input: &web_sys::Element, text: &str) {
    let input: &web_sys::HtmlInputElement = input.dyn_ref().unwrap();
    input.set_value(text);
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

#[wasm_bindgen_test]
async fn sign_in_says_what_is_missing_before_calling_anything() {
    session::clear();
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let _mounted = leptos::mount::mount_to(host.clone().unchecked_into(), berth_console::App);

    // With no session, the app sends a person to sign-in.
    let form = find(&host, "[data-testid=sign-in-form]").await;
    assert!(web_sys::window()
        .unwrap()
        .location()
        .pathname()
        .unwrap()
        .ends_with("/sign-in"));

    type_into(
        &find(&form, "[data-testid=access-key-id]").await,
        "AKIAEXAMPLE",
    );
    let submit: web_sys::HtmlElement = find(&form, "[data-testid=sign-in]").await.unchecked_into();
    submit.click();
    let error = find(&host, "[data-testid=sign-in-error]").await;
    assert_eq!(
        error.text_content().unwrap(),
        "Enter the secret access key."
    );

    type_into(
        &find(&form, "[data-testid=secret-access-key]").await,
        "secret",
    );
    type_into(
        &find(&form, "[data-testid=endpoint]").await,
        "ftp://registry",
    );
    submit.click();
    sleep(50).await;
    let error = find(&host, "[data-testid=sign-in-error]").await;
    assert_eq!(
        error.text_content().unwrap(),
        "The endpoint URL must start with http:// or https:// (for example http://registry)."
    );
    assert_eq!(
        session::load(),
        None,
        "nothing is stored before the registry accepts the key"
    );
}

async fn mount_at(
    path: &str,
) -> (
    web_sys::Element,
    leptos::mount::UnmountHandle<impl leptos::tachys::view::Mountable>,
) {
    let window = web_sys::window().unwrap();
    window
        .history()
        .unwrap()
        .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path))
        .unwrap();
    let document = window.document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let mounted = leptos::mount::mount_to(host.clone().unchecked_into(), berth_console::App);
    (host, mounted)
}

#[wasm_bindgen_test]
async fn create_repository_explains_bad_names_as_they_are_typed() {
    session::save(&connection(), false);
    let (host, _mounted) = mount_at("/create-repository").await;
    let input = find(&host, "[data-testid=repository-name-input]").await;
    type_into(&input, "team/App");
    let error = find(&host, "[data-testid=name-error]").await;
    assert_eq!(
        error.text_content().unwrap(),
        "Character 6 is an uppercase letter ('A'): repository names are lowercase."
    );
    type_into(&input, "team//app");
    sleep(30).await;
    assert!(find(&host, "[data-testid=name-error]")
        .await
        .text_content()
        .unwrap()
        .starts_with("Character 5 ('/') must sit between"));
    type_into(&input, "team/app");
    sleep(30).await;
    assert!(host
        .query_selector("[data-testid=name-error]")
        .unwrap()
        .is_none());
    assert_eq!(
        find(&host, "[data-testid=uri-preview]")
            .await
            .text_content()
            .unwrap(),
        "127.0.0.1:5000/team/app"
    );
    session::clear();
}

#[wasm_bindgen_test]
async fn delete_needs_the_name_typed_before_it_runs() {
    use leptos::prelude::*;
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let confirmed = RwSignal::new(0);
    let _mounted = leptos::mount::mount_to(host.clone().unchecked_into(), move || {
        view! {
            <berth_console::components::ConfirmDelete title="Delete team/web" what="This deletes team/web."
                confirm_word="team/web" on_confirm=Callback::new(move |_| confirmed.update(|n| *n += 1))
                on_close=Callback::new(|_| ())/>
        }
    });
    let button: web_sys::HtmlButtonElement = find(&host, "[data-testid=confirm-delete]")
        .await
        .unchecked_into();
    assert!(button.disabled());
    button.click();
    let input = find(&host, "[data-testid=confirm-input]").await;
    type_into(&input, "team/we");
    sleep(20).await;
    assert!(button.disabled(), "a partial name does not unlock it");
    type_into(&input, "team/web");
    sleep(20).await;
    assert!(!button.disabled());
    button.click();
    assert_eq!(confirmed.get_untracked(), 1);
}

#[wasm_bindgen_test]
async fn a_deep_link_without_a_session_goes_to_sign_in_and_keeps_the_link() {
    session::clear();
    let (host, _mounted) = mount_at("/repositories/team/web?tab=settings").await;
    find(&host, "[data-testid=sign-in-form]").await;
    let location = web_sys::window().unwrap().location();
    assert_eq!(location.pathname().unwrap(), "/sign-in");
    assert_eq!(
        location.search().unwrap(),
        "?next=%2Frepositories%2Fteam%2Fweb%3Ftab%3Dsettings"
    );
}
