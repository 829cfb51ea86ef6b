"""Whole journeys through the release console in headless Chromium, against a real
`berth-registry`, with the docker engine, podman and the AWS CLI doing the pushing."""

import json
import re
import subprocess

import pytest
from botocore.exceptions import ClientError
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import Registry, free_port, wait_for_port
from journeys import (button, by_testid, check_accessibility, field, screenshot, sign_in, signed_in, shown,
                      text_appears, text_of, type_into, wait_for)
from test_clients import AWS, build_seed_image, run

SECRET_PLACEHOLDER = "<your secret access key>"
# Where the login line of the push panel breaks across lines on screen: the two
# characters around each break.
LINE_BREAKS = """
    const text = document.querySelectorAll('[data-testid="push-command"]')[1].firstChild;
    const range = document.createRange(), breaks = [];
    let top = null;
    for (let i = 0; i < text.length; i++) {
        range.setStart(text, i); range.setEnd(text, i + 1);
        const t = range.getClientRects()[0]?.top;
        if (top !== null && t > top + 2) breaks.push(text.data[i - 1] + '|' + text.data[i]);
        if (t !== undefined) top = t;
    }
    return breaks;"""


def docker_env(registry, tmp_path, key=None, secret=None):
    env = registry.aws_env(key, secret)
    env["DOCKER_CONFIG"] = str(tmp_path / f"docker-{key or 'admin'}")
    return env


def chips(browser):
    return sorted(c.text.replace("×", "").strip() for c in browser.find_elements(*by_testid("tag-chip")))


def test_repository_journey(console_registry, browser, tmp_path):
    registry = console_registry
    sign_in(browser, registry.url, registry.access_key_id, "w" * 40)
    text_appears(browser, "secret access key does not match")
    check_accessibility(browser, "sign-in with an error")
    type_into(field(browser, "Secret access key"), registry.secret_access_key)
    button(browser, "Sign in").click()
    text_appears(browser, "No repositories are visible to this key")
    check_accessibility(browser, "empty repository list")

    button(browser, "Create repository").click()
    type_into(field(browser, "Repository name"), "Team/Web")
    text_appears(browser, "Character 1 is an uppercase letter ('T')")
    check_accessibility(browser, "create repository with a name error")
    button(browser, "Create").click()
    assert registry.ecr().describe_repositories()["repositories"] == [], "nothing is created from an invalid name"
    type_into(field(browser, "Repository name"), "team/web")
    wait_for(browser, lambda b: not b.find_elements(*by_testid("name-error")))
    assert browser.find_element(*by_testid("uri-preview")).text == f"{registry.host}/team/web"
    button(browser, "Create").click()
    wait_for(browser, EC.url_contains("/repositories/team/web"))
    text_appears(browser, "Repository created")

    # Push two tags of one image with the real docker engine.
    env = docker_env(registry, tmp_path)
    run(f"{AWS} ecr get-login-password --region {registry.region} --endpoint-url {registry.url} "
        f"| docker login --username AWS --password-stdin {registry.host}", env=env)
    uri = f"{registry.host}/team/web"
    run(["docker", "build", "-t", f"{uri}:v1", "."], env=env, cwd=build_seed_image(tmp_path, "journey", "journey"))
    run(["docker", "tag", f"{uri}:v1", f"{uri}:stable"], env=env)
    try:
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", run(["docker", "push", f"{uri}:v1"], env=env).stdout).group(1)
        run(["docker", "push", f"{uri}:stable"], env=env)
        built = json.loads(run(["docker", "image", "inspect", f"{uri}:v1"], env=env).stdout)[0]
    finally:
        run(["docker", "rmi", "-f", f"{uri}:v1", f"{uri}:stable"], env=env, check=False)

    button(browser, "Refresh images").click()
    wait_for(browser, lambda b: chips(b) == ["stable", "v1"])
    link = browser.find_element(*by_testid("image-digest"))
    assert link.get_attribute("title") == digest
    screenshot(browser, "console-images-tab.png")
    check_accessibility(browser, "images tab")

    link.click()
    layers = wait_for(browser, EC.presence_of_element_located(by_testid("layer-table")))
    assert len(layers.find_elements(*by_testid("layer-row"))) == 1
    text_appears(browser, f"{uri}@{digest}")
    assert json.loads(browser.find_element(*by_testid("raw-manifest")).text)["schemaVersion"] == 2
    config = browser.find_element(*by_testid("image-config")).text
    assert f"{built['Os']}/{built['Architecture']}" in config
    title = text_of(browser, "image-title")
    assert title in ("v1", "stable") and text_of(browser, "pull-command") == f"docker pull {uri}:{title}"
    screenshot(browser, "console-image-detail.png")
    check_accessibility(browser, "image detail")

    # Remove one tag: the image stays with the other, and Undo brings the tag back.
    browser.find_element(By.LINK_TEXT, "team/web").click()
    button(browser, "Remove tag stable").click()
    wait_for(browser, lambda b: chips(b) == ["v1"])
    assert [d["imageTags"] for d in registry.ecr().describe_images(repositoryName="team/web")["imageDetails"]] == [["v1"]]
    button(browser, "Undo").click()
    wait_for(browser, lambda b: chips(b) == ["stable", "v1"])
    assert sorted(registry.ecr().describe_images(repositoryName="team/web")["imageDetails"][0]["imageTags"]) == ["stable", "v1"]

    # Delete the repository from the list: typed confirmation and force.
    browser.find_element(By.LINK_TEXT, "Repositories").click()
    field(browser, "Select team/web").click()
    button(browser, "Delete").click()
    force = wait_for(browser, EC.element_to_be_clickable(by_testid("force-delete")))
    text_appears(browser, "Also delete the 1 image they contain")
    check_accessibility(browser, "delete repository dialog")
    confirm = browser.find_element(*by_testid("confirm-delete"))
    assert not confirm.is_enabled()
    type_into(field(browser, 'To confirm, type "team/web"'), "team/web")
    force.click()
    confirm.click()
    text_appears(browser, "No repositories are visible to this key")
    assert registry.ecr().describe_repositories()["repositories"] == []


def push_commands_from_page(browser):
    return [b.get_attribute("data-copy") for b in browser.find_elements(By.CSS_SELECTOR, '[data-testid="push-commands"] button.copy')]


def newcomer_journey(registry, browser, tmp_path, engine):
    """Creates a repository, then runs the panel's lines for a non-default tag, all of
    them and unchanged but for the secret placeholder: key, login, build, tag, push;
    then removes the local image and runs the pull line."""
    name = f"my-{engine.lower()}-repository"
    tag = "v2.1-rc1"
    signed_in(browser, registry)
    button(browser, "Create repository").click()
    type_into(field(browser, "Repository name"), name)
    button(browser, "Create").click()
    wait_for(browser, EC.url_contains(f"/repositories/{name}"))
    button(browser, "View push commands").click()
    if engine == "Podman":
        field(browser, "Podman").click()
    type_into(field(browser, "Image tag"), tag)
    wait_for(browser, lambda b: all(tag in c for c in push_commands_from_page(b)[2:]))
    commands = push_commands_from_page(browser)
    shown = [c.text for c in browser.find_elements(*by_testid("push-command"))]
    assert shown == commands, "the copy buttons give exactly the lines shown"
    assert len(commands) == 6
    key_lines, login, build, tag_line, push, pull = commands
    assert key_lines == (f"export AWS_ACCESS_KEY_ID={registry.access_key_id}\n"
                         f"export AWS_SECRET_ACCESS_KEY='{SECRET_PLACEHOLDER}'")
    cli = engine.lower()
    assert login.endswith(f"| {cli} login{' --tls-verify=false' if cli == 'podman' else ''} --username AWS "
                          f"--password-stdin {registry.host}")
    for line in (build, tag_line, push, pull):
        assert line.startswith(f"{cli} "), line
    remote = f"{registry.host}/{name}:{tag}"
    assert build == f"{cli} build -t {name}:{tag} ."
    assert tag_line == f"{cli} tag {name}:{tag} {remote}"
    assert push.endswith(f" {remote}") and pull.endswith(f" {remote}")
    panel = browser.find_element(*by_testid("push-commands")).text
    assert f"your {engine} client to this registry" in panel and "AWS repository" not in panel
    other = "Podman" if engine == "Docker" else "Docker"
    assert f"Build your {other} image" not in panel
    screenshot(browser, f"console-push-commands-{cli}.png")
    check_accessibility(browser, f"push commands ({engine})")

    env = registry.aws_env()
    # Step 0 sets the key: the shell starts without one.
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
    env["REGISTRY_AUTH_FILE"] = str(tmp_path / "podman-auth.json")
    context = build_seed_image(tmp_path, engine, "Hello from Nginx container")
    script = "\n".join([
        "set -euo pipefail",
        key_lines.replace(SECRET_PLACEHOLDER, registry.secret_access_key),
        login, build, tag_line, push,
        f"{cli} rmi {remote} {name}:{tag}",
        pull,
        f"{cli} image inspect {remote} > /dev/null",
    ])
    try:
        result = subprocess.run(["bash", "-c", script], cwd=context, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    finally:
        run([cli, "rmi", "-f", f"{name}:{tag}", remote], env=env, check=False)
    details = registry.ecr().describe_images(repositoryName=name)["imageDetails"]
    assert [d["imageTags"] for d in details] == [[tag]]
    assert details[0]["lastRecordedPullTime"] >= details[0]["imagePushedAt"], "the pull line reached the registry"
    digest = details[0]["imageDigest"]
    button(browser, "Close").click()
    button(browser, "Refresh images").click()
    wait_for(browser, lambda b: b.find_element(*by_testid("image-digest")).get_attribute("title") == digest)
    assert chips(browser) == [tag]
    # The image page's pull line follows the client chosen in the panel.
    browser.find_element(*by_testid("image-digest")).click()
    wait_for(browser, lambda b: text_of(b, "pull-command") == pull)


def test_newcomer_push_commands_with_a_tag_run_in_full_with_docker(console_registry, browser, tmp_path):
    newcomer_journey(console_registry, browser, tmp_path, "Docker")


def test_newcomer_push_commands_with_a_tag_run_in_full_with_podman(console_registry, browser, tmp_path):
    newcomer_journey(console_registry, browser, tmp_path, "Podman")


def test_push_panel_checks_the_tag_and_speaks_powershell_on_windows(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="app")
    signed_in(browser, registry, "/repositories/app")
    button(browser, "View push commands").click()
    type_into(field(browser, "Image tag"), "My Tag!")
    problem = shown(browser, "push-tag-problem")
    wait_for(browser, lambda b: "Character 3 (' ') is not allowed in a tag" in problem.text)
    assert browser.find_elements(*by_testid("push-command")) == [], "no lines for a tag that cannot be pushed"
    assert field(browser, "Image tag").get_attribute("aria-invalid") == "true"
    type_into(field(browser, "Image tag"), "v1")
    wait_for(browser, lambda b: len(push_commands_from_page(b)) == 6)
    assert push_commands_from_page(browser)[2] == "docker build -t app:v1 ."
    button(browser, "Windows (PowerShell)").click()
    wait_for(browser, lambda b: push_commands_from_page(b)[0].startswith("$env:AWS_ACCESS_KEY_ID = "))
    assert push_commands_from_page(browser)[0] == (f"$env:AWS_ACCESS_KEY_ID = '{registry.access_key_id}'\n"
                                                   f"$env:AWS_SECRET_ACCESS_KEY = '{SECRET_PLACEHOLDER}'")
    # Long lines wrap at spaces: no line box of the login command ends inside a word.
    broken = browser.execute_script(LINE_BREAKS)
    browser.set_window_size(500, 900)
    wrapped = browser.execute_script(LINE_BREAKS)
    assert wrapped, "at 500 px the login line wraps"
    assert all(b.startswith(" ") for b in broken + wrapped), f"lines wrap at spaces only: {broken + wrapped}"


def test_policy_journey(console_registry, browser, tmp_path):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="shared/app")
    viewer = registry.add_user("viewer")
    # An image to pull later, pushed by the admin.
    admin_env = docker_env(registry, tmp_path)
    run(f"{AWS} ecr get-login-password --region {registry.region} --endpoint-url {registry.url} "
        f"| docker login --username AWS --password-stdin {registry.host}", env=admin_env)
    uri = f"{registry.host}/shared/app"
    run(["docker", "build", "-t", f"{uri}:v1", "."], env=admin_env, cwd=build_seed_image(tmp_path, "policy", "p"))
    run(["docker", "push", f"{uri}:v1"], env=admin_env)

    signed_in(browser, registry, "/repositories/shared/app?tab=permissions")
    text_appears(browser, "No repository policy")
    check_accessibility(browser, "permissions tab without a policy")
    button(browser, "Create a policy").click()
    editor = field(browser, "Policy JSON")
    editor.send_keys('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}')
    problems = browser.find_element(*by_testid("policy-problems"))
    wait_for(browser, lambda b: problems.text.startswith("Line 4:"))
    assert not browser.find_element(*by_testid("save-policy")).is_enabled()

    # The draft survives a trip to another tab.
    button(browser, "Images").click()
    wait_for(browser, EC.presence_of_element_located(by_testid("image-table")))
    button(browser, "Permissions").click()
    wait_for(browser, lambda b: '{"Effect": "Allow",}' in field(b, "Policy JSON").get_attribute("value"))

    # A template asks before it replaces unsaved work.
    type_into(field(browser, "Principal for templates"), viewer["arn"])
    button(browser, "Pull only").click()
    text_appears(browser, "Replace your draft?")
    button(browser, "Keep my draft").click()
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, "dialog[open]"))
    assert '{"Effect": "Allow",}' in field(browser, "Policy JSON").get_attribute("value")
    button(browser, "Pull only").click()
    button(browser, "Replace").click()
    problems = browser.find_element(*by_testid("policy-problems"))
    wait_for(browser, lambda b: problems.text == "")
    diff = browser.find_element(*by_testid("policy-diff")).text.splitlines()
    assert any(line.startswith("+") and '"Sid": "AllowPull"' in line for line in diff), diff
    summary = browser.find_element(*by_testid("policy-summary")).text
    assert "user viewer" in summary and "pull" in summary
    check_accessibility(browser, "policy editor")

    type_into(field(browser, "Principal ARN"), viewer["arn"])
    draft = browser.find_element(*by_testid("sim-draft"))
    assert draft.text.startswith("Draft: Allowed by statement 'AllowPull'")
    Select(field(browser, "Action")).select_by_value("push")
    wait_for(browser, lambda b: "Denied" in b.find_element(*by_testid("sim-draft")).text)
    screenshot(browser, "console-permissions.png")
    button(browser, "Save policy").click()
    wait_for(browser, EC.presence_of_element_located(by_testid("saved-policy")))
    assert "AllowPull" in registry.ecr().get_repository_policy(repositoryName="shared/app")["policyText"]

    # The registry agrees with the simulator: the viewer pulls, and cannot push.
    env = docker_env(registry, tmp_path, viewer["accessKeyId"], viewer["secretAccessKey"])
    run(f"{AWS} ecr get-login-password --region {registry.region} --endpoint-url {registry.url} "
        f"| docker login --username AWS --password-stdin {registry.host}", env=env)
    try:
        run(["docker", "rmi", f"{uri}:v1"], env=env, check=False)
        assert run(["docker", "pull", f"{uri}:v1"], env=env, check=False).returncode == 0
        run(["docker", "tag", f"{uri}:v1", f"{uri}:viewer"], env=env)
        pushed = run(["docker", "push", f"{uri}:viewer"], env=env, check=False)
        assert pushed.returncode != 0 and "denied" in (pushed.stdout + pushed.stderr).lower()
    finally:
        run(["docker", "rmi", "-f", f"{uri}:v1", f"{uri}:viewer"], env=env, check=False)

    # Deleting the policy from the console removes it from the registry.
    button(browser, "Edit policy").click()
    button(browser, "Delete policy").click()
    type_into(field(browser, 'To confirm, type "delete"'), "delete")
    button(browser, "Delete").click()
    text_appears(browser, "No repository policy")
    with pytest.raises(ClientError) as gone:
        registry.ecr().get_repository_policy(repositoryName="shared/app")
    assert gone.value.response["Error"]["Code"] == "RepositoryPolicyNotFoundException"


def test_console_works_against_moto_server(tmp_path, browser):
    """The console speaks plain ECR: a third-party implementation works too."""
    registry = Registry(tmp_path, console=True)  # serves the console only
    port = free_port()
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, moto, what="moto_server")
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_repository(repositoryName="from/api")
        sign_in(browser, registry.url, "AKIAMOTOEXAMPLE00000", "testing-secret", endpoint=endpoint,
                kind="Custom ECR-compatible endpoint")
        table = wait_for(browser, EC.visibility_of_element_located(by_testid("repository-table")))
        assert "from/api" in table.text
        button(browser, "Create repository").click()
        type_into(field(browser, "Repository name"), "from/console")
        button(browser, "Create").click()
        wait_for(browser, EC.url_contains("/repositories/from/console"))
        text_appears(browser, "dkr.ecr")  # moto's repository URI, described back
        names = [r["repositoryName"] for r in boto3.client(
            "ecr", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
            aws_secret_access_key="testing").describe_repositories()["repositories"]]
        assert sorted(names) == ["from/api", "from/console"]
    finally:
        moto.terminate()
        moto.wait()
        registry.stop()
