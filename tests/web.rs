//! Console tests in headless Chromium (wasm-bindgen-test): pure logic that must
//! hold in the browser, and screens mounted and driven like a person would.

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

mod tables {
    use berth_console::table::{
        count_text, group_digits, page_of, repositories_view, Direction, ImageColumn,
        RepositoryColumn, RepositoryImages, TagStatus,
    };
    use berth_model::ecr::{
        EncryptionConfiguration, ImageDetail, ImageScanningConfiguration, Repository,
        TAG_IMMUTABLE, TAG_MUTABLE,
    };
    use berth_model::oci::{ParsedManifest, OCI_INDEX, OCI_MANIFEST};
    use wasm_bindgen_test::*;

    fn repository(name: &str, created_at: f64, immutable: bool) -> Repository {
        Repository {
            repository_arn: format!("arn:aws:ecr:us-east-1:123456789012:repository/{name}"),
            registry_id: "123456789012".into(),
            repository_name: name.into(),
            repository_uri: format!("127.0.0.1:5000/{name}"),
            created_at,
            image_tag_mutability: if immutable {
                TAG_IMMUTABLE
            } else {
                TAG_MUTABLE
            }
            .into(),
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

    fn image(digest: &str, tags: &[&str], size: u64, pushed: f64, media_type: &str) -> ImageDetail {
        ImageDetail {
            registry_id: "123456789012".into(),
            repository_name: "app".into(),
            image_digest: digest.into(),
            image_tags: tags.iter().map(|t| t.to_string()).collect(),
            image_size_in_bytes: size,
            image_pushed_at: pushed,
            image_manifest_media_type: media_type.into(),
            artifact_media_type: None,
            last_recorded_pull_time: None,
            ..Default::default()
        }
    }

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    /// v1 is an index over an amd64 and an arm64 image; "loose" is a plain untagged image.
    fn multi_platform() -> RepositoryImages {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": digest('a'), "size": 10, "platform": {"os": "linux", "architecture": "amd64"}},
                {"mediaType": OCI_MANIFEST, "digest": digest('b'), "size": 10, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            ]
        })
        .to_string();
        let images = vec![
            image(&digest('a'), &[], 11, 1.0, OCI_MANIFEST),
            image(&digest('b'), &["arm-only"], 19, 1.0, OCI_MANIFEST),
            image(&digest('i'), &["v1"], 30, 2.0, OCI_INDEX),
            image(&digest('l'), &[], 5, 3.0, OCI_MANIFEST),
        ];
        let parsed = ParsedManifest::parse(index.as_bytes(), Some(OCI_INDEX)).unwrap();
        RepositoryImages::new(images, &[(digest('i'), parsed)])
    }

    fn digests(list: Vec<ImageDetail>) -> Vec<String> {
        list.into_iter().map(|i| i.image_digest).collect()
    }

    #[wasm_bindgen_test]
    fn platform_images_belong_under_their_index() {
        let images = multi_platform();
        let any =
            |status| digests(images.rows("", status, ImageColumn::PushedAt, Direction::Descending));
        assert_eq!(
            any(TagStatus::Any),
            [digest('l'), digest('i'), digest('b')],
            "the untagged amd64 image shows only under v1"
        );
        assert_eq!(any(TagStatus::Untagged), [digest('l')]);
        assert_eq!(any(TagStatus::Tagged), [digest('i'), digest('b')]);
        assert!(!images.deletable(&digest('a')) && !images.deletable(&digest('b')));
        assert!(images.deletable(&digest('l')) && images.deletable(&digest('i')));
        let labels: Vec<String> = images
            .memberships(&digest('b'))
            .iter()
            .map(|m| m.label())
            .collect();
        assert_eq!(labels, ["part of v1 · linux/arm64/v8"]);
        let platforms = images.platforms(&digest('i'));
        assert_eq!(platforms.len(), 2);
        assert_eq!(
            (platforms[0].platform.as_str(), platforms[0].size),
            ("linux/amd64", Some(11))
        );
    }

    #[wasm_bindgen_test]
    fn images_filter_by_tag_and_sort() {
        let images = RepositoryImages::new(
            vec![
                image("sha256:a", &["v1", "stable"], 30, 1.0, OCI_MANIFEST),
                image("sha256:b", &[], 10, 2.0, OCI_MANIFEST),
                image("sha256:c", &["v2"], 20, 3.0, OCI_MANIFEST),
            ],
            &[],
        );
        let rows = |filter, column, direction| {
            digests(images.rows(filter, TagStatus::Any, column, direction))
        };
        assert_eq!(
            rows("", ImageColumn::PushedAt, Direction::Descending),
            ["sha256:c", "sha256:b", "sha256:a"]
        );
        assert_eq!(
            rows("", ImageColumn::Size, Direction::Ascending),
            ["sha256:b", "sha256:c", "sha256:a"]
        );
        assert_eq!(
            rows("v", ImageColumn::Size, Direction::Ascending),
            ["sha256:c", "sha256:a"]
        );
        assert_eq!(
            rows("STABLE", ImageColumn::Size, Direction::Ascending),
            ["sha256:a"]
        );
    }

    #[wasm_bindgen_test]
    fn tag_mutability_reads_in_words() {
        use berth_console::table::{is_immutable, mutability_label};
        use berth_model::ecr::{TAG_IMMUTABLE_WITH_EXCLUSION, TAG_MUTABLE_WITH_EXCLUSION};
        assert_eq!(mutability_label(TAG_IMMUTABLE), "Immutable");
        assert_eq!(mutability_label(TAG_MUTABLE), "Mutable");
        assert_eq!(
            mutability_label(TAG_IMMUTABLE_WITH_EXCLUSION),
            "Immutable, with exclusions"
        );
        assert_eq!(
            mutability_label(TAG_MUTABLE_WITH_EXCLUSION),
            "Mutable, with exclusions"
        );
        assert!(
            is_immutable(TAG_IMMUTABLE_WITH_EXCLUSION) && !is_immutable(TAG_MUTABLE_WITH_EXCLUSION)
        );
    }

    #[wasm_bindgen_test]
    fn pages_and_counts_cover_every_row() {
        let items: Vec<usize> = (1..=1004).collect();
        let (page, shown) = page_of(&items, 21, 50);
        assert_eq!((page, shown), (vec![1001, 1002, 1003, 1004], 21));
        let (_, clamped) = page_of(&items, 99, 50);
        assert_eq!(clamped, 21, "a page past the end shows the last one");
        assert_eq!(group_digits(1004), "1,004");
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(999), "999");
        let nouns = ("repository", "repositories");
        assert_eq!(
            count_text(1, 50, 1004, 1004, "", nouns),
            "1–50 of 1,004 repositories"
        );
        assert_eq!(
            count_text(21, 50, 1004, 1004, "", nouns),
            "1,001–1,004 of 1,004 repositories"
        );
        assert_eq!(
            count_text(1, 50, 1, 1004, " web ", nouns),
            "1–1 of 1 repository matching “web” (1,004 in all)"
        );
        assert_eq!(
            count_text(1, 50, 0, 1004, "nothing", nouns),
            "No repository matching “nothing” (1,004 in all)"
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
