//! Tables: sorting, paging and counts over everything loaded.

use berth_console::table::{
    count_text, group_digits, page_of, repositories_view, Direction, ImageColumn, RepositoryColumn,
    RepositoryImages, TagStatus,
};
use berth_model::ecr::{
    EncryptionConfiguration, ImageDetail, ImageScanningConfiguration, Repository, TAG_IMMUTABLE,
    TAG_MUTABLE,
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
    let rows =
        |filter, column, direction| digests(images.rows(filter, TagStatus::Any, column, direction));
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

/// The repository rows are written as markup: whatever a registry names a
/// repository or its URI (the console talks to registries it does not control),
/// the browser parses exactly one row of the usual cells from it, with the value
/// as text and nothing run.
#[wasm_bindgen_test]
fn repository_rows_hold_hostile_values_as_text() {
    use berth_console::pages::repositories::repository_rows;
    use wasm_bindgen::JsCast;

    let hostile = r#"x"><img src=x onerror="window.pwned=1">'&amp;</td></tr><tr><td>"#;
    let mut evil = repository(hostile, 1_700_000_000.0, false);
    evil.repository_uri = format!("host/{hostile}");
    evil.encryption_configuration.encryption_type = "<b>KMS</b>".into();
    let plain = repository("team/app", 1_700_000_000.0, true);
    let html = repository_rows(&[evil, plain], &["team/app".to_string()]);

    let document = web_sys::window().unwrap().document().unwrap();
    let table = document.create_element("table").unwrap();
    let body = document.create_element("tbody").unwrap();
    table.append_child(&body).unwrap();
    body.set_inner_html(&html);

    let rows = body.query_selector_all("tr").unwrap();
    assert_eq!(rows.length(), 2);
    assert!(body.query_selector("img, b").unwrap().is_none());
    let row: web_sys::Element = rows.get(0).unwrap().unchecked_into();
    assert_eq!(row.query_selector_all("td").unwrap().length(), 8);
    let link = row.query_selector("a").unwrap().unwrap();
    assert_eq!(link.text_content().unwrap(), hostile);
    assert_eq!(
        link.get_attribute("href").unwrap(),
        format!("/repositories/{hostile}")
    );
    let copy = row.query_selector("button.copy").unwrap().unwrap();
    assert_eq!(
        copy.get_attribute("data-copy").unwrap(),
        format!("host/{hostile}")
    );
    assert_eq!(
        copy.get_attribute("aria-label").unwrap(),
        format!("Copy URI of {hostile}")
    );
    let checkbox: web_sys::HtmlInputElement = row
        .query_selector("input[type=checkbox]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(checkbox.get_attribute("data-select").unwrap(), hostile);
    assert!(!checkbox.checked());
    assert!(row.text_content().unwrap().contains("<b>KMS</b>"));

    let row: web_sys::Element = rows.get(1).unwrap().unchecked_into();
    let checkbox: web_sys::HtmlInputElement = row
        .query_selector("input[type=checkbox]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert!(checkbox.checked());
    assert_eq!(
        row.query_selector("button.link")
            .unwrap()
            .unwrap()
            .get_attribute("data-push")
            .unwrap(),
        "team/app"
    );
}
