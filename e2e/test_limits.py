"""Limits as AWS has them, through boto3 against a real `berth-registry`: resource
tags (50 per repository, keys up to 128 and values up to 256 characters) and the
repository policy's 10,240 characters, counted as characters."""

import json

import botocore.exceptions
import pytest


def refused(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    return excinfo.value.response["Error"]["Code"]


def tags(n, prefix="k"):
    return [{"Key": f"{prefix}{i}", "Value": "v"} for i in range(n)]


def test_resource_tags_are_limited_as_on_aws(registry):
    ecr = registry.ecr()
    assert refused(ecr.create_repository, repositoryName="crowded", tags=tags(51)) == "TooManyTagsException"
    arn = ecr.create_repository(repositoryName="app", tags=tags(40))["repository"]["repositoryArn"]
    assert refused(ecr.tag_resource, resourceArn=arn, tags=tags(11, prefix="new")) == "TooManyTagsException"
    assert refused(ecr.tag_resource, resourceArn=arn, tags=tags(2000)) == "TooManyTagsException"
    ecr.tag_resource(resourceArn=arn, tags=tags(10, prefix="new") + tags(40))  # overwriting counts once
    assert len(ecr.list_tags_for_resource(resourceArn=arn)["tags"]) == 50
    ecr.untag_resource(resourceArn=arn, tagKeys=["k0"])
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "é" * 128, "Value": "ü" * 256}])  # characters, not bytes

    for bad in [{"Key": "k" * 129, "Value": "v"}, {"Key": "", "Value": "v"}, {"Key": "k", "Value": "v" * 257}]:
        assert refused(ecr.tag_resource, resourceArn=arn, tags=[bad]) == "InvalidTagParameterException"
        assert refused(ecr.create_repository, repositoryName="other", tags=[bad]) == "InvalidTagParameterException"
    assert len(ecr.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


def test_the_policy_limit_counts_characters(registry):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="app")

    def policy_of(length):
        document = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/ci"},
            "Action": "ecr:BatchGetImage", "Condition": {"StringNotEquals": {"aws:username": ""}}}]}
        padding = length - len(json.dumps(document, ensure_ascii=False))
        # Two bytes each in UTF-8: 10,240 characters are about 20,000 bytes.
        document["Statement"][0]["Condition"]["StringNotEquals"]["aws:username"] = "é" * padding
        text = json.dumps(document, ensure_ascii=False)
        assert len(text) == length
        return text

    ecr.set_repository_policy(repositoryName="app", policyText=policy_of(10_240))
    assert len(ecr.get_repository_policy(repositoryName="app")["policyText"]) == 10_240
    assert refused(ecr.set_repository_policy, repositoryName="app", policyText=policy_of(10_241)) == "InvalidParameterException"
