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
