//! Pure logic that must hold in the browser: signing, errors, sessions, form checks.

use std::time::{Duration, UNIX_EPOCH};

use berth_console::api::{self, ApiError};
use berth_console::session;
use wasm_bindgen_test::*;

use super::connection;

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
    );
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
    let headers = api::signed_headers(&with_token, "t", "{}", api::now());
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
    use berth_model::ecr::Action;
    let body = |t: &str, m: &str| format!(r#"{{"__type":"{t}","message":"{m}"}}"#);
    let read = |status, text: &str| {
        ApiError::from_response(status, text, Action::DescribeRepositories, None)
    };
    assert_eq!(
        read(400, &body("UnrecognizedClientException", "x")),
        ApiError::UnknownAccessKey
    );
    assert_eq!(
        read(403, &body("InvalidSignatureException", "does not match")),
        ApiError::WrongSecret
    );
    assert_eq!(
        read(
            403,
            &body("InvalidSignatureException", "Signature expired: 2026")
        ),
        ApiError::ClockSkew
    );
    let exists = read(
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
        read(502, "<html>bad gateway</html>"),
        ApiError::NotEcrEndpoint { status: 502 }
    ));
    assert_eq!(
        read(501, "<!DOCTYPE HTML>\n<html><body>Unsupported method ('POST')</body></html>").to_string(),
        "This address answered, but not as an ECR API endpoint (HTTP 501). Is it the registry's URL?"
    );
    assert!(matches!(read(500, "oops"), ApiError::Decode(_)));
}

#[wasm_bindgen_test]
fn access_denied_names_the_permission_in_plain_words() {
    use berth_model::ecr::Action;
    let raw = r#"{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/viewer is not authorized to perform: ecr:BatchDeleteImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/shared/app because no resource-based policy allows the ecr:BatchDeleteImage action"}"#;
    let denied = ApiError::from_response(403, raw, Action::BatchDeleteImage, Some("shared/app"));
    assert!(denied.is_access_denied());
    assert_eq!(
        denied.to_string(),
        "This key may not delete images or tags in shared/app. Ask the registry's administrator to allow ecr:BatchDeleteImage for it in the repository's policy."
    );
    let create = ApiError::from_response(403, raw, Action::CreateRepository, None);
    assert!(create.to_string().contains("may not create repositories"));
    assert!(create.to_string().contains("ecr:CreateRepository"));
    assert!(!create.to_string().contains("arn:aws"));
}

#[wasm_bindgen_test]
fn connections_live_in_session_storage_unless_remembered() {
    session::clear();
    assert_eq!(session::load(), None);
    session::save(&connection(), false);
    assert_eq!(session::load(), Some(connection()));
    let window = web_sys::window().unwrap();
    let local = window.local_storage().unwrap().unwrap();
    assert_eq!(local.length().unwrap(), 0);
    assert!(!session::remembered());
    session::save(&connection(), true);
    assert!(session::remembered());
    assert_eq!(local.length().unwrap(), 1);
    session::clear();
    assert_eq!(session::load(), None);
    assert_eq!(
        local.length().unwrap(),
        0,
        "signing out forgets the device too"
    );
}

#[wasm_bindgen_test]
fn sign_in_returns_only_to_pages_of_this_console() {
    use berth_console::guard::{safe_next, sign_in_href};
    for good in [
        "/repositories",
        "/repositories/team/web?tab=permissions",
        "/images/app?digest=sha256:ab#layers",
    ] {
        assert_eq!(safe_next(good), Some(good), "{good}");
    }
    for bad in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "repositories",
        "",
        "/sign-in",
        "/sign-in?next=/x",
        "/\n/evil.example",
    ] {
        assert_eq!(safe_next(bad), None, "{bad:?}");
    }
    assert_eq!(safe_next("/sign-inx"), Some("/sign-inx"));
    assert_eq!(
        sign_in_href("/repositories/team/web?tab=settings"),
        "/sign-in?next=%2Frepositories%2Fteam%2Fweb%3Ftab%3Dsettings"
    );
    assert_eq!(sign_in_href("/"), "/sign-in");
}

#[wasm_bindgen_test]
fn form_checks_explain_kms_keys_and_endpoints() {
    use berth_console::validate::{check_endpoint, check_kms_key};
    for good in [
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:123456789012:alias/team-key",
        "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234567890abcdef1234567890abcdef",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "alias/aws/ecr",
    ] {
        assert_eq!(check_kms_key(good), Ok(()), "{good}");
    }
    for bad in [
        "arn:aws:kms:made-up",
        "arn:aws:kms:us-east-1:123:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:s3:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "my key",
        "alias/",
    ] {
        let problem = check_kms_key(bad).unwrap_err();
        assert!(problem.contains("is not a KMS key"), "{bad}: {problem}");
    }
    assert_eq!(check_endpoint("http://127.0.0.1:5000"), Ok(()));
    assert_eq!(
        check_endpoint("registry.internal:5000").unwrap_err(),
        "The endpoint URL must start with http:// or https:// (for example http://registry.internal:5000)."
    );
    assert!(check_endpoint("http://").is_err());
}
