"""Whole journeys through the release console in headless Chromium, against a real
`berth-registry`, with the docker engine and the AWS CLI doing the pushing."""

import json
import re
import subprocess

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import SCREENSHOTS, Registry, free_port, wait_for_port
from journeys import button, field, sign_in, text_appears, type_into, wait_for
from test_clients import AWS, build_seed_image, run


def screenshot(browser, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def docker_env(registry, tmp_path, key=None, secret=None):
    env = registry.aws_env(key, secret)
    env["DOCKER_CONFIG"] = str(tmp_path / f"docker-{key or 'admin'}")
    return env


def test_repository_journey(console_registry, browser, tmp_path):
    registry = console_registry
    sign_in(browser, registry.url, registry.access_key_id, "w" * 40)
    text_appears(browser, "secret access key does not match")
    type_into(field(browser, "Secret access key"), registry.secret_access_key)
    button(browser, "Sign in").click()
    text_appears(browser, "No repositories yet")

    button(browser, "Create repository").click()
    type_into(field(browser, "Repository name"), "Team/Web")
    text_appears(browser, "Character 1 is an uppercase letter ('T')")
    button(browser, "Create").click()
    assert registry.ecr().describe_repositories()["repositories"] == [], "nothing is created from an invalid name"
    type_into(field(browser, "Repository name"), "team/web")
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, '[data-testid="name-error"]'))
    assert browser.find_element(By.CSS_SELECTOR, '[data-testid="uri-preview"]').text == f"{registry.host}/team/web"
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
    finally:
        run(["docker", "rmi", "-f", f"{uri}:v1", f"{uri}:stable"], env=env, check=False)

    button(browser, "Refresh images").click()
    wait_for(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, '[data-testid="tag-chip"]')) == 2)
    chips = sorted(c.text.replace("×", "").strip() for c in browser.find_elements(By.CSS_SELECTOR, '[data-testid="tag-chip"]'))
    assert chips == ["stable", "v1"]
    link = browser.find_element(By.CSS_SELECTOR, '[data-testid="image-digest"]')
    assert link.get_attribute("title") == digest
    screenshot(browser, "console-images-tab.png")

    link.click()
    layers = wait_for(browser, EC.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="layer-table"]')))
    assert len(layers.find_elements(By.CSS_SELECTOR, '[data-testid="layer-row"]')) == 1
    text_appears(browser, f"{uri}@{digest}")
    assert json.loads(browser.find_element(By.CSS_SELECTOR, '[data-testid="raw-manifest"]').text)["schemaVersion"] == 2
    config = browser.find_element(By.CSS_SELECTOR, '[data-testid="image-config"]').text
    assert "linux/amd64" in config or "linux/" in config
    screenshot(browser, "console-image-detail.png")

    # Delete one tag: the image stays with the other.
    browser.find_element(By.LINK_TEXT, "team/web").click()
    button(browser, "Remove tag stable").click()
    wait_for(browser, lambda b: [c.text.replace("×", "").strip() for c in b.find_elements(By.CSS_SELECTOR, '[data-testid="tag-chip"]')] == ["v1"])
    details = registry.ecr().describe_images(repositoryName="team/web")["imageDetails"]
    assert [d["imageTags"] for d in details] == [["v1"]]

    # Delete the repository from the list: typed confirmation and force.
    button(browser, "Repositories").click()
    field(browser, "Select team/web").click()
    button(browser, "Delete").click()
    force = wait_for(browser, EC.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="force-delete"]')))
    text_appears(browser, "Also delete the 1 image they contain")
    confirm = browser.find_element(By.CSS_SELECTOR, '[data-testid="confirm-delete"]')
    assert not confirm.is_enabled()
    type_into(field(browser, 'To confirm, type "team/web"'), "team/web")
    force.click()
    confirm.click()
    text_appears(browser, "No repositories yet")
    assert registry.ecr().describe_repositories()["repositories"] == []


def push_commands_from_page(browser):
    return [b.get_attribute("data-copy") for b in browser.find_elements(By.CSS_SELECTOR, '[data-testid="push-commands"] button.copy')]


def newcomer_journey(registry, browser, tmp_path, engine):
    name = "my-nginx-repository" if engine == "Docker" else "my-podman-repository"
    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key)
    button(browser, "Create repository").click()
    type_into(field(browser, "Repository name"), name)
    button(browser, "Create").click()
    wait_for(browser, EC.url_contains(f"/repositories/{name}"))
    button(browser, "View push commands").click()
    if engine == "Podman":
        field(browser, "Podman").click()
    commands = push_commands_from_page(browser)
    assert len(commands) == 5 and all(commands)
    shown = [c.text for c in browser.find_elements(By.CSS_SELECTOR, '[data-testid="push-command"]')]
    assert shown == commands, "the copy buttons give exactly the lines shown"
    screenshot(browser, f"console-push-commands-{engine.lower()}.png")

    context = build_seed_image(tmp_path, engine, "Hello from Nginx container")
    env = docker_env(registry, tmp_path)
    env["REGISTRY_AUTH_FILE"] = str(tmp_path / "podman-auth.json")
    outputs = []
    try:
        for command in commands[:4]:
            result = subprocess.run(["bash", "-c", command], cwd=context, env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
            outputs.append(result.stdout + result.stderr)
    finally:
        run([engine.lower(), "rmi", "-f", name, f"{registry.host}/{name}:latest"], env=env, check=False)
    details = registry.ecr().describe_images(repositoryName=name)["imageDetails"]
    assert [d["imageTags"] for d in details] == [["latest"]]
    digest = details[0]["imageDigest"]
    if engine == "Docker":
        assert f"digest: {digest}" in outputs[3]
    button(browser, "Close").click()
    button(browser, "Refresh images").click()
    wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, '[data-testid="image-digest"]').get_attribute("title") == digest)
    assert browser.find_element(By.CSS_SELECTOR, '[data-testid="tag-chip"]').text.replace("×", "").strip() == "latest"


def test_newcomer_push_commands_work_unchanged_with_docker(console_registry, browser, tmp_path):
    newcomer_journey(console_registry, browser, tmp_path, "Docker")


def test_newcomer_push_commands_work_unchanged_with_podman(console_registry, browser, tmp_path):
    newcomer_journey(console_registry, browser, tmp_path, "Podman")


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

    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key)
    browser.get(registry.url + "/repositories/shared/app?tab=permissions")
    text_appears(browser, "No repository policy")
    button(browser, "Create a policy").click()
    editor = field(browser, "Policy JSON")
    editor.send_keys('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}')
    problems = browser.find_element(By.CSS_SELECTOR, '[data-testid="policy-problems"]')
    wait_for(browser, lambda b: problems.text.startswith("Line 4:"))
    assert not browser.find_element(By.CSS_SELECTOR, '[data-testid="save-policy"]').is_enabled()

    type_into(field(browser, "Principal for templates"), viewer["arn"])
    button(browser, "Pull only").click()
    wait_for(browser, lambda b: problems.text == "")
    diff = browser.find_element(By.CSS_SELECTOR, '[data-testid="policy-diff"]').text
    assert '+ "Sid": "AllowPull",' in diff.replace("  ", " ") or "AllowPull" in diff
    summary = browser.find_element(By.CSS_SELECTOR, '[data-testid="policy-summary"]').text
    assert "user viewer" in summary and "pull" in summary

    type_into(field(browser, "Principal ARN"), viewer["arn"])
    draft = browser.find_element(By.CSS_SELECTOR, '[data-testid="sim-draft"]')
    assert draft.text.startswith("Draft: Allowed by statement 'AllowPull'")
    Select(field(browser, "Action")).select_by_value("push")
    wait_for(browser, lambda b: "Denied" in b.find_element(By.CSS_SELECTOR, '[data-testid="sim-draft"]').text)
    screenshot(browser, "console-permissions.png")
    button(browser, "Save policy").click()
    wait_for(browser, EC.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="saved-policy"]')))
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
        table = wait_for(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, '[data-testid="repository-table"]')))
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


def test_multi_platform_index_expands_per_platform_and_fits_a_phone(console_registry, browser):
    from oci import OCI_INDEX, OCI_MANIFEST, OciClient

    registry = console_registry
    registry.ecr().create_repository(repositoryName="multi/app")
    client = OciClient.for_registry(registry)
    entries = []
    for arch, variant, layer in [("amd64", None, b"amd64 layer"), ("arm64", "v8", b"arm64 layer, larger")]:
        raw, digest = client.push_image("multi/app", f"only-{arch}", [layer])
        platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(raw), "platform": platform})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    assert client.push_manifest("multi/app", "latest", index, OCI_INDEX).status == 201

    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key)
    wait_for(browser, EC.url_contains("/repositories"))
    browser.get(registry.url + "/repositories/multi/app")
    button(browser, "Show platforms").click()
    rows = wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="platform-row"]'))
    texts = [r.text for r in rows]
    assert any("linux/amd64" in t and "11 B" in t for t in texts), texts
    assert any("linux/arm64/v8" in t and "19 B" in t for t in texts), texts

    # At 360 px the page scrolls vertically only; wide tables scroll inside their own box.
    browser.set_window_size(360, 800)
    text_appears(browser, "multi/app")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    screenshot(browser, "console-images-360px.png")
