"""A key that is not the admin's: the console says what is true, turns AccessDenied
into the permission to ask for, and stops offering what the key was refused."""

import json

from selenium.webdriver.support import expected_conditions as EC

from journeys import (button, by_testid, check_accessibility, field, shown, sign_in, text_appears, text_of,
                      type_into, wait_for)
from oci import OciClient


def policy(arn, actions):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Viewer", "Effect": "Allow", "Principal": {"AWS": arn}, "Action": actions}]})


PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
CONSOLE_READ = ["ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:ListImages", "ecr:ListTagsForResource",
                "ecr:GetRepositoryPolicy"]


def test_a_pull_only_users_journey(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="shared/app")
    OciClient.for_registry(registry).push_image("shared/app", "v1", [b"shared layer"])
    viewer = registry.add_user("viewer")
    ecr.set_repository_policy(repositoryName="shared/app", policyText=policy(viewer["arn"], PULL))

    sign_in(browser, registry.url, viewer["accessKeyId"], viewer["secretAccessKey"])
    empty = shown(browser, "empty")
    assert "No repositories are visible to this key" in empty.text and "ecr:DescribeRepositories" in empty.text
    assert "No repositories yet" not in empty.text
    check_accessibility(browser, "empty list for a pull-only key")

    # A link to the repository: why it cannot be shown, and what to ask for.
    browser.get(registry.url + "/repositories/shared/app")
    error = shown(browser, "load-error")
    assert ("This key may not view repository shared/app. Ask the registry's administrator to allow "
            "ecr:DescribeRepositories for it in the repository's policy.") in error.text
    assert "is not authorized" not in error.text and "arn:aws" not in error.text
    assert browser.find_elements(*by_testid("push-commands")) == []
    assert "View push commands" not in browser.find_element(*by_testid("repository-title")).find_element(
        "xpath", "..").text, "no push commands for a repository that could not be loaded"
    check_accessibility(browser, "repository page refused")

    # Creating is refused in plain words, and then no longer offered.
    browser.get(registry.url + "/create-repository")
    type_into(field(browser, "Repository name"), "viewer/own")
    button(browser, "Create").click()
    created = shown(browser, "create-error")
    assert created.text == ("This key may not create repositories. Ask the registry's administrator to allow "
                            "ecr:CreateRepository for it in a policy.")
    button(browser, "Repositories").click()
    wait_for(browser, lambda b: text_of(b, "create-refused") == "This key may not create repositories (ecr:CreateRepository).")
    assert not browser.find_element("xpath", "//button[normalize-space(.)='Create repository']").is_enabled()

    # The admin grants the viewer "Console read + pull" from the Permissions tab.
    browser.find_element(*by_testid("sign-out")).click()
    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key,
            path="/sign-in?next=%2Frepositories%2Fshared%2Fapp%3Ftab%3Dpermissions")
    button(browser, "Edit policy").click()
    type_into(field(browser, "Principal for templates"), viewer["arn"])
    button(browser, "Console read + pull").click()
    wait_for(browser, lambda b: "ecr:DescribeRepositories" in field(b, "Policy JSON").get_attribute("value"))
    button(browser, "Save policy").click()
    shown(browser, "saved-policy")
    granted = json.loads(ecr.get_repository_policy(repositoryName="shared/app")["policyText"])
    assert set(CONSOLE_READ + PULL) <= set(granted["Statement"][0]["Action"]), granted
    browser.find_element(*by_testid("sign-out")).click()

    # Now the repository shows; deleting is refused once, then disabled.
    sign_in(browser, registry.url, viewer["accessKeyId"], viewer["secretAccessKey"])
    wait_for(browser, EC.element_to_be_clickable(("link text", "shared/app"))).click()
    wait_for(browser, EC.presence_of_element_located(by_testid("image-table")))
    field(browser, "Select image " + text_of(browser, "image-digest")).click()
    button(browser, "Delete images").click()
    type_into(field(browser, 'To confirm, type "delete"'), "delete")
    button(browser, "Delete").click()
    text_appears(browser, "This key may not delete images or tags in shared/app. Ask the registry's administrator "
                          "to allow ecr:BatchDeleteImage for it in the repository's policy.")
    button(browser, "Cancel").click()
    wait_for(browser, lambda b: text_of(b, "delete-refused") == (
        "This key may not delete images or tags in shared/app (ecr:BatchDeleteImage)."))
    assert not browser.find_element(*by_testid("delete-images")).is_enabled()
    assert browser.find_elements("xpath", "//button[@aria-label='Remove tag v1']") == []
    assert [d["imageTags"] for d in ecr.describe_images(repositoryName="shared/app")["imageDetails"]] == [["v1"]]
    check_accessibility(browser, "images tab for a read-only key")
