"""Forms end to end: what the console sends is what the registry stores, asserted
through boto3; and what it refuses, it explains."""

from selenium.webdriver.common.by import By

from journeys import (button, check_accessibility, field, shown, signed_in, text_appears, text_of, type_into,
                      wait_for)

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def tags_of(ecr, name):
    arn = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
    return {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}


def test_create_repository_with_every_option(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    signed_in(browser, registry, "/create-repository")
    type_into(field(browser, "Repository name"), "opts/app")
    field(browser, "Immutable: a pushed tag can never be moved to another image").click()
    field(browser, "Scan on push").click()
    field(browser, "AWS KMS").click()
    text_appears(browser, "A Berth registry records the key but does not encrypt with KMS")
    type_into(field(browser, "KMS key"), "arn:aws:kms:made-up")
    wait_for(browser, lambda b: (text_of(b, "kms-error") or "").startswith("'arn:aws:kms:made-up' is not a KMS key"))
    button(browser, "Add tag").click()
    type_into(field(browser, "Key"), "team")
    type_into(field(browser, "Value"), "web")
    check_accessibility(browser, "create repository with every option")
    button(browser, "Create").click()
    wait_for(browser, lambda b: (text_of(b, "create-error") or "").startswith("'arn:aws:kms:made-up' is not a KMS key"))
    assert ecr.describe_repositories()["repositories"] == [], "a made-up key ARN is not sent"

    type_into(field(browser, "KMS key"), KMS_KEY)
    wait_for(browser, lambda b: text_of(b, "kms-error") is None)
    button(browser, "Create").click()
    wait_for(browser, lambda b: "/repositories/opts/app" in b.current_url)
    created = ecr.describe_repositories(repositoryNames=["opts/app"])["repositories"][0]
    assert created["imageTagMutability"] == "IMMUTABLE"
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    assert created["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": KMS_KEY}
    assert tags_of(ecr, "opts/app") == {"team": "web"}

    # The same name again: the registry's refusal, in words.
    browser.get(registry.url + "/create-repository")
    type_into(field(browser, "Repository name"), "opts/app")
    button(browser, "Create").click()
    wait_for(browser, lambda b: text_of(b, "create-error") == (
        "A repository named opts/app already exists. Choose another name, or open the existing one from the list."))


def test_the_settings_tab_changes_what_the_registry_stores(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="team/web", imageTagMutability="IMMUTABLE",
                          imageScanningConfiguration={"scanOnPush": True}, tags=[{"Key": "team", "Value": "web"}])
    signed_in(browser, registry, "/repositories/team/web?tab=settings")
    immutable = shown(browser, "setting-immutable")
    assert immutable.is_selected() and shown(browser, "setting-scan").is_selected()
    immutable.click()
    shown(browser, "setting-scan").click()
    button(browser, "Save settings").click()
    wait_for(browser, lambda b: "Settings saved" in [t.text for t in b.find_elements(By.CSS_SELECTOR, "[data-testid=toast]")])
    saved = ecr.describe_repositories(repositoryNames=["team/web"])["repositories"][0]
    assert saved["imageTagMutability"] == "MUTABLE" and saved["imageScanningConfiguration"] == {"scanOnPush": False}
    # The summary above the tabs follows.
    wait_for(browser, lambda b: b.find_element(
        By.XPATH, "//dl[@class='summary']//dt[normalize-space(.)='Tag immutability']/following-sibling::dd").text == "Mutable")

    type_into(field(browser, "Key"), "owner")
    type_into(field(browser, "Value"), "ci")
    button(browser, "Add tag").click()
    wait_for(browser, lambda b: "owner = ci" in (text_of(b, "resource-tags") or ""))
    assert tags_of(ecr, "team/web") == {"team": "web", "owner": "ci"}
    button(browser, "Remove tag team").click()
    wait_for(browser, lambda b: "team = web" not in (text_of(b, "resource-tags") or ""))
    assert tags_of(ecr, "team/web") == {"owner": "ci"}
    check_accessibility(browser, "settings tab")


def test_a_repository_that_cannot_be_loaded_offers_no_push_commands(console_registry, browser):
    signed_in(browser, console_registry, "/repositories/no/such")
    error = shown(browser, "load-error")
    assert "no/such" in error.text
    assert browser.find_elements(By.XPATH, "//button[normalize-space(.)='View push commands']") == []
    check_accessibility(browser, "repository not found")

