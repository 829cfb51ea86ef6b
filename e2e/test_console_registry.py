"""The registry's own pages: Permissions (the registry policy with the team-prefix
template, warnings that do not block, a simulator over both policies that the
registry then agrees with) and Registry (garbage collection status after a real
`berth-registry gc` run). Both reachable from the header and through sign-in."""

import datetime
import json
import subprocess

import botocore.exceptions
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from journeys import (button, by_testid, check_accessibility, field, path_of, screenshot, shown, sign_in,
                      signed_in, text_appears, text_of, type_into, wait_for)
from conftest import Registry, free_port, wait_for_port
from oci import OciClient
from test_gc import gc

TEAM_TEMPLATE = "Team prefix: create + push + pull under team/"


def toast_says(text):
    return lambda b: text in [t.text for t in b.find_elements(*by_testid("toast"))]


def set_text(browser, element, text):
    browser.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", element, text)


def simulate(browser, repository, action):
    box = field(browser, "Repository")
    type_into(box, repository)
    box.send_keys(Keys.TAB)
    Select(field(browser, "Action")).select_by_value(action)


def verdict_becomes(browser, testid, text):
    wait_for(browser, lambda b: text_of(b, testid) == text)


def size_words(n):
    """format::size: AWS console units (1 kB = 1000 bytes), two decimals."""
    units = ["B", "KB", "MB", "GB", "TB"]
    value, unit = float(n), 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    return f"{n} B" if unit == 0 else f"{value:.2f} {units[unit]}"


def iso(epoch_seconds):
    """JavaScript's Date.toISOString of an epoch-seconds time."""
    at = datetime.datetime.fromtimestamp(int(epoch_seconds * 1000) / 1000, datetime.timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def test_registry_permissions_journey(console_registry, browser):
    registry = console_registry
    ci = registry.add_user("team-a-ci")
    as_ci = dict(key=ci["accessKeyId"], secret=ci["secretAccessKey"])

    # A deep link goes through sign-in and comes back.
    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key, path="/registry/permissions")
    wait_for(browser, lambda b: path_of(b) == "/registry/permissions")
    text_appears(browser, "No registry policy")
    current = browser.find_element(By.CSS_SELECTOR, "nav.main-nav a[aria-current='page']")
    assert current.text == "Registry permissions"
    check_accessibility(browser, "registry permissions without a policy")

    button(browser, "Create a policy").click()
    type_into(field(browser, "Principal for templates"), ci["arn"])
    type_into(field(browser, "Team prefix"), "team-a")
    button(browser, TEAM_TEMPLATE).click()
    editor = field(browser, "Policy JSON")
    wait_for(browser, lambda b: "TeamCreatePushPull" in editor.get_attribute("value"))
    template = json.loads(editor.get_attribute("value"))
    statement = template["Statement"][0]
    assert statement["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"
    assert statement["Principal"] == {"AWS": ci["arn"]}
    assert {"ecr:CreateRepository", "ecr:PutImage", "ecr:BatchGetImage"} <= set(statement["Action"])

    # A duplicate Sid is a warning on its line, and saving stays possible (ECR accepts it).
    twice = dict(template, Statement=[statement, dict(statement, Action=["ecr:ListImages"])])
    text = json.dumps(twice, indent=2)
    set_text(browser, editor, text)
    second_sid = [n for n, line in enumerate(text.splitlines(), 1) if '"Sid"' in line][1]
    wait_for(browser, lambda b: (text_of(b, "policy-warnings") or "").startswith(
        f"Line {second_sid}: Warning: Statement[1].Sid: Sid 'TeamCreatePushPull' is also used by Statement[0]"))
    assert text_of(browser, "policy-problems") == ""
    assert browser.find_element(*by_testid("save-policy")).is_enabled()
    assert [g.text for g in browser.find_elements(By.CSS_SELECTOR, ".editor .gutter .warn")] == [str(second_sid)]
    check_accessibility(browser, "registry policy editor with a warning")
    set_text(browser, editor, json.dumps(template, indent=2))
    wait_for(browser, lambda b: text_of(b, "policy-warnings") == "")

    # The simulator decides over the draft before it is saved.
    type_into(field(browser, "Principal ARN"), ci["arn"])
    simulate(browser, "team-a/x", "push")
    verdict_becomes(browser, "sim-draft", "Draft: Allowed by statement 'TeamCreatePushPull' of the registry policy.")
    verdict_becomes(browser, "sim-saved", "Saved policy: Denied: no policy applies to ecr:BatchCheckLayerAvailability, "
                                          "so only the account's administrator may do it.")
    button(browser, "Save policy").click()
    wait_for(browser, toast_says("Policy saved"))
    saved = shown(browser, "saved-policy")
    assert "repositories whose names start with team-a/" in saved.text
    assert json.loads(registry.ecr().get_registry_policy()["policyText"]) == template

    verdict_becomes(browser, "sim-saved", "Saved policy: Allowed by statement 'TeamCreatePushPull' of the registry policy.")
    assert text_of(browser, "sim-note") == "team-a/x does not exist (yet): only the registry policy speaks for it."
    simulate(browser, "team-a/x", "ecr:CreateRepository")
    verdict_becomes(browser, "sim-saved", "Saved policy: Allowed by statement 'TeamCreatePushPull' of the registry policy.")
    simulate(browser, "team-b/x", "push")
    verdict_becomes(browser, "sim-saved", "Saved policy: Denied: no statement allows ecr:BatchCheckLayerAvailability.")
    simulate(browser, "team-b/x", "ecr:CreateRepository")
    verdict_becomes(browser, "sim-saved", "Saved policy: Denied: no statement allows ecr:CreateRepository.")
    # The account root acts by identity; its policy actions survive any Deny.
    type_into(field(browser, "Principal ARN"), "arn:aws:iam::123456789012:root")
    verdict_becomes(browser, "sim-saved", "Saved policy: Allowed: the account root acts by identity.")
    screenshot(browser, "console-registry-permissions.png")
    check_accessibility(browser, "registry permissions with a policy")

    # The registry agrees: the user creates and pushes under team-a/, and nothing under team-b/.
    registry.ecr(**as_ci).create_repository(repositoryName="team-a/x")
    pushed = OciClient.for_registry(registry, **as_ci)
    _, digest = pushed.push_image("team-a/x", "v1", [b"team a's layer"])
    assert registry.ecr().describe_images(repositoryName="team-a/x")["imageDetails"][0]["imageDigest"] == digest
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        registry.ecr(**as_ci).create_repository(repositoryName="team-b/x")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"

    # Deleted from the console: the registry has none, and the grant is gone.
    button(browser, "Edit policy").click()
    button(browser, "Delete policy").click()
    type_into(field(browser, 'To confirm, type "delete"'), "delete")
    button(browser, "Delete").click()
    wait_for(browser, toast_says("Policy deleted"))
    text_appears(browser, "No registry policy")
    with pytest.raises(botocore.exceptions.ClientError) as none:
        registry.ecr().get_registry_policy()
    assert none.value.response["Error"]["Code"] == "RegistryPolicyNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        registry.ecr(**as_ci).create_repository(repositoryName="team-a/y")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_the_repository_simulator_counts_the_registry_policy(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="team-a/api")
    ci = registry.add_user("ci")
    ecr.put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "TeamPull", "Effect": "Allow", "Principal": {"AWS": ci["arn"]},
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
         "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchDeleteImage",
         "Resource": "*"}]}))
    ecr.set_repository_policy(repositoryName="team-a/api", policyText=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ci-push", "Effect": "Allow", "Principal": {"AWS": ci["arn"]}, "Action": "ecr:*"},
        {"Sid": "ci-push", "Effect": "Allow", "Principal": {"AWS": ci["arn"]}, "Action": "ecr:ListImages"}]}))

    signed_in(browser, registry, "/repositories/team-a/api?tab=permissions")
    # The saved repository policy's warnings show, too.
    wait_for(browser, lambda b: "Sid 'ci-push' is also used by Statement[0]" in (text_of(b, "saved-policy-warnings") or ""))
    type_into(field(browser, "Principal ARN"), ci["arn"])
    verdict_becomes(browser, "sim-saved", "Saved policy: Allowed by statement 'TeamPull' of the registry policy.")
    Select(field(browser, "Action")).select_by_value("ecr:BatchDeleteImage")
    verdict_becomes(browser, "sim-saved", "Saved policy: Denied: statement 'NoDeletes' of the registry policy "
                                          "denies ecr:BatchDeleteImage.")
    Select(field(browser, "Action")).select_by_value("ecr:PutImage")
    verdict_becomes(browser, "sim-saved", "Saved policy: Allowed by statement 'ci-push' of the repository policy.")
    check_accessibility(browser, "permissions tab with the registry policy")
    # The registry decides the same: the Deny in the registry policy beats ecr:* here.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        registry.ecr(key=ci["accessKeyId"], secret=ci["secretAccessKey"]).batch_delete_image(
            repositoryName="team-a/api", imageIds=[{"imageTag": "v1"}])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_registry_page_shows_garbage_collection(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="gone/app")
    OciClient.for_registry(registry).push_image("gone/app", "v1", [b"a" * 4000, b"b" * 2500])
    ecr.delete_repository(repositoryName="gone/app", force=True)

    signed_in(browser, registry)
    browser.find_element(By.CSS_SELECTOR, "nav.main-nav").find_element(By.LINK_TEXT, "Registry").click()
    wait_for(browser, lambda b: path_of(b) == "/registry")
    wait_for(browser, lambda b: text_of(b, "gc-last-run") == "No collection has run yet")
    assert text_of(browser, "gc-interval") == "Every 6 hours"
    assert text_of(browser, "gc-next-run") not in (None, "")
    assert "123456789012" in text_of(browser, "registry-summary")
    check_accessibility(browser, "registry page before a collection")

    report = gc(registry)
    assert report["blobsDeleted"] == 3
    button(browser, "Refresh garbage collection status").click()
    wait_for(browser, lambda b: text_of(b, "gc-freed") == f"{size_words(report['bytesFreed'])} (3 blobs and 0 upload files)")
    last = browser.find_element(*by_testid("gc-last-run"))
    assert last.get_attribute("title") == iso(report["startedAt"])
    assert text_of(browser, "gc-seconds") == f"{report['seconds']:.2f} s"
    next_run = browser.find_element(*by_testid("gc-next-run"))
    assert next_run.get_attribute("title") >= iso(report["startedAt"] + report["seconds"] + 6 * 3600)
    screenshot(browser, "console-registry.png")
    check_accessibility(browser, "registry page after a collection")


def test_registry_pages_against_another_ecr_implementation(tmp_path, browser):
    """moto_server, an ECR that is not Berth: the registry policy is read, saved and
    deleted through the same page, and the garbage collection section says it is
    Berth's own instead of failing."""
    import boto3

    console = Registry(tmp_path, console=True)  # serves the console only
    port = free_port()
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, moto, what="moto_server")
        endpoint = f"http://127.0.0.1:{port}"
        ecr = boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        sign_in(browser, console.url, "AKIAMOTOEXAMPLE00000", "testing-secret", endpoint=endpoint,
                kind="Custom ECR-compatible endpoint", path="/registry")
        wait_for(browser, lambda b: path_of(b) == "/registry")
        assert "Only a Berth registry reports its garbage collection" in text_of(browser, "gc-elsewhere")
        wait_for(browser, lambda b: "123456789012" in text_of(b, "registry-summary"))

        browser.find_element(By.CSS_SELECTOR, "nav.main-nav").find_element(By.LINK_TEXT, "Registry permissions").click()
        text_appears(browser, "No registry policy")
        button(browser, "Create a policy").click()
        replication = {"Version": "2012-10-17", "Statement": [{
            "Sid": "replicate-from-prod", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/*"}]}
        set_text(browser, field(browser, "Policy JSON"), json.dumps(replication, indent=2))
        wait_for(browser, lambda b: text_of(b, "policy-problems") == "")
        button(browser, "Save policy").click()
        wait_for(browser, toast_says("Policy saved"))
        assert "replicate-from-prod" in shown(browser, "saved-policy").text
        assert json.loads(ecr.get_registry_policy()["policyText"]) == replication
        check_accessibility(browser, "registry permissions on another ECR")

        button(browser, "Edit policy").click()
        button(browser, "Delete policy").click()
        type_into(field(browser, 'To confirm, type "delete"'), "delete")
        button(browser, "Delete").click()
        wait_for(browser, toast_says("Policy deleted"))
        text_appears(browser, "No registry policy")
        with pytest.raises(botocore.exceptions.ClientError) as none:
            ecr.get_registry_policy()
        assert none.value.response["Error"]["Code"] == "RegistryPolicyNotFoundException"
    finally:
        moto.terminate()
        moto.wait()
        console.stop()
