//! Console tests in headless Chromium (wasm-bindgen-test): pure logic that must
//! hold in the browser, and the sign-in screen mounted and driven like a person would.

use std::time::{Duration, UNIX_EPOCH};

use berth_console::api::{self, ApiError};
use berth_console::session::{self, Connection, RegistryKind};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn connection() -> Connection {
    Connection {
        kind: RegistryKind::Berth,
        endpoint: "http://127.0.0.1:5000".into(),
        region: "us-east-1".into(),
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: None,
    }
}

/// The same request signed by botocore (an independent implementation) at the same
/// instant gives this Authorization header.
#[wasm_bindgen_test]
fn signs_ecr_calls_exactly_as_botocore_does() {
    let at = UNIX_EPOCH + Duration::from_secs(1_795_847_644); // 2026-11-28T06:34:04Z
    let headers = api::signed_headers(
        &connection(),
        "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        "{}",
        at,
    )
    .unwrap();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("x-amz-date"), Some("20261128T063404Z"));
    assert_eq!(
        get("authorization"),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ecr/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
             Signature=71fb0ae6916d9fe032e2e7a4c9eae3af5404f611e8a4a33aa8b3f213270739d7"
        )
    );
    assert_eq!(get("content-type"), Some("application/x-amz-json-1.1"));
}

#[wasm_bindgen_test]
fn session_tokens_are_signed_and_sent() {
    let mut with_token = connection();
    with_token.session_token = Some("FQoGZXIvYXdzEXAMPLE".into());
    let headers = api::signed_headers(&with_token, "t", "{}", api::now()).unwrap();
    assert!(headers
        .iter()
        .any(|(k, v)| k == "x-amz-security-token" && v == "FQoGZXIvYXdzEXAMPLE"));
    let authorization = &headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1;
    assert!(
        authorization.contains("x-amz-security-token"),
        "{authorization}"
    );
}

#[wasm_bindgen_test]
fn errors_are_translated_for_people() {
    let body = |t: &str, m: &str| format!(r#"{{"__type":"{t}","message":"{m}"}}"#);
    assert_eq!(
        ApiError::from_response(400, &body("UnrecognizedClientException", "x")),
        ApiError::UnknownAccessKey
    );
    assert_eq!(
        ApiError::from_response(403, &body("InvalidSignatureException", "does not match")),
        ApiError::WrongSecret
    );
    assert_eq!(
        ApiError::from_response(
            403,
            &body("InvalidSignatureException", "Signature expired: 2026")
        ),
        ApiError::ClockSkew
    );
    let exists = ApiError::from_response(
        400,
        &body(
            "com.amazonaws.ecr#RepositoryAlreadyExistsException",
            "exists",
        ),
    );
    assert_eq!(
        exists.error_type(),
        Some("RepositoryAlreadyExistsException")
    );
    assert_eq!(exists.to_string(), "exists");
    assert!(matches!(
        ApiError::from_response(502, "<html>bad gateway</html>"),
        ApiError::Decode(_)
    ));
}

#[wasm_bindgen_test]
fn connections_live_in_session_storage_only() {
    session::clear();
    assert_eq!(session::load(), None);
    session::save(&connection());
    assert_eq!(session::load(), Some(connection()));
    let window = web_sys::window().unwrap();
    assert_eq!(
        window.local_storage().unwrap().unwrap().length().unwrap(),
        0
    );
    session::clear();
    assert_eq!(session::load(), None);
}

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
        "The endpoint URL must start with http:// or https://."
    );
    assert_eq!(
        session::load(),
        None,
        "nothing is stored before the registry accepts the key"
    );
}

mod tables {
    use berth_console::table::{
        images_view, repositories_view, Direction, ImageColumn, Pager, RepositoryColumn,
    };
    use berth_model::ecr::{
        EncryptionConfiguration, ImageDetail, ImageScanningConfiguration, Repository,
    };
    use wasm_bindgen_test::*;

    fn repository(name: &str, created_at: f64, immutable: bool) -> Repository {
        Repository {
            repository_arn: format!("arn:aws:ecr:us-east-1:123456789012:repository/{name}"),
            registry_id: "123456789012".into(),
            repository_name: name.into(),
            repository_uri: format!("127.0.0.1:5000/{name}"),
            created_at,
            image_tag_mutability: if immutable { "IMMUTABLE" } else { "MUTABLE" }.into(),
            image_scanning_configuration: ImageScanningConfiguration {
                scan_on_push: immutable,
            },
            encryption_configuration: EncryptionConfiguration::default(),
            ..Default::default()
        }
    }

    fn names(list: &[Repository]) -> Vec<&str> {
        list.iter().map(|r| r.repository_name.as_str()).collect()
    }

    #[wasm_bindgen_test]
    fn repositories_filter_and_sort() {
        let list = [
            repository("web", 3.0, false),
            repository("team/api", 1.0, true),
            repository("team/web", 2.0, false),
        ];
        let by_name = repositories_view(&list, "", RepositoryColumn::Name, Direction::Ascending);
        assert_eq!(names(&by_name), ["team/api", "team/web", "web"]);
        let newest_first = repositories_view(
            &list,
            "",
            RepositoryColumn::CreatedAt,
            Direction::Descending,
        );
        assert_eq!(names(&newest_first), ["web", "team/web", "team/api"]);
        let immutable_last = repositories_view(
            &list,
            "",
            RepositoryColumn::TagImmutability,
            Direction::Descending,
        );
        assert_eq!(
            names(&immutable_last)[0],
            "team/web",
            "MUTABLE sorts after IMMUTABLE, ties by name"
        );
        assert_eq!(
            names(&repositories_view(
                &list,
                " TEAM/ ",
                RepositoryColumn::Name,
                Direction::Ascending
            )),
            ["team/api", "team/web"]
        );
        assert!(repositories_view(
            &list,
            "nothing",
            RepositoryColumn::Name,
            Direction::Ascending
        )
        .is_empty());
    }

    fn image(digest: &str, tags: &[&str], size: u64, pushed: f64) -> ImageDetail {
        ImageDetail {
            registry_id: "123456789012".into(),
            repository_name: "app".into(),
            image_digest: digest.into(),
            image_tags: tags.iter().map(|t| t.to_string()).collect(),
            image_size_in_bytes: size,
            image_pushed_at: pushed,
            image_manifest_media_type: berth_model::oci::OCI_MANIFEST.into(),
            artifact_media_type: None,
            last_recorded_pull_time: None,
            ..Default::default()
        }
    }

    #[wasm_bindgen_test]
    fn images_filter_by_tag_and_sort() {
        let list = [
            image("sha256:a", &["v1", "stable"], 30, 1.0),
            image("sha256:b", &[], 10, 2.0),
            image("sha256:c", &["v2"], 20, 3.0),
        ];
        let digests =
            |l: Vec<ImageDetail>| l.into_iter().map(|i| i.image_digest).collect::<Vec<_>>();
        assert_eq!(
            digests(images_view(
                &list,
                "",
                ImageColumn::PushedAt,
                Direction::Descending
            )),
            ["sha256:c", "sha256:b", "sha256:a"]
        );
        assert_eq!(
            digests(images_view(
                &list,
                "",
                ImageColumn::Size,
                Direction::Ascending
            )),
            ["sha256:b", "sha256:c", "sha256:a"]
        );
        assert_eq!(
            digests(images_view(
                &list,
                "v",
                ImageColumn::Size,
                Direction::Ascending
            )),
            ["sha256:c", "sha256:a"]
        );
        assert_eq!(
            digests(images_view(
                &list,
                "STABLE",
                ImageColumn::Size,
                Direction::Ascending
            )),
            ["sha256:a"]
        );
    }

    #[wasm_bindgen_test]
    fn pager_walks_tokens_both_ways() {
        let mut pager = Pager::new();
        assert_eq!((pager.page_number(), pager.current_token()), (1, None));
        assert!(!pager.has_previous() && !pager.has_next());
        pager.loaded(Some("t2".into()));
        pager.go_next();
        assert_eq!(
            (pager.page_number(), pager.current_token()),
            (2, Some("t2".into()))
        );
        pager.loaded(Some("t3".into()));
        pager.go_next();
        pager.loaded(None);
        assert!(!pager.has_next() && pager.has_previous());
        pager.go_previous();
        assert_eq!(
            (pager.page_number(), pager.current_token()),
            (2, Some("t2".into()))
        );
        pager.go_previous();
        assert_eq!(pager.current_token(), None);
        pager.go_next();
        assert_eq!(
            pager.page_number(),
            1,
            "no next page until the answer names one"
        );
    }
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
    session::save(&connection());
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
