"""The wire contract, checked offline: every ECR API exchange a test makes is held
against AWS's own model of the API (botocore's `ecr/2015-09-21/service-2.json`).

The registry records each exchange (`serve --record-api FILE`, one JSON line per
call); `check_exchanges` then validates, strictly:
- every successful response against the operation's output shape (no member AWS
  does not define, required members present, types, enum values, lengths,
  patterns, timestamps as epoch seconds);
- every error response's `__type` against the errors AWS declares for the
  operation (plus the errors every AWS JSON service may answer);
- every request a browser sent (the console, recognised by its Origin header)
  against the operation's input shape, so the console cannot drift either.

Requests from tests themselves are not input-checked: some are malformed on
purpose, and boto3 / the AWS CLI build theirs from this same model.
"""

import base64
import json
import re

import botocore.session

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."

# Errors any AWS JSON 1.1 service may answer besides those an operation declares.
COMMON_ERRORS = {
    "AccessDeniedException",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "SerializationException",
    "ThrottlingException",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "ValidationException",
}

_model = None


def model():
    global _model
    if _model is None:
        _model = botocore.session.get_session().get_service_model("ecr")
    return _model


def _problems(shape, value, path, out, response=False):
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            out.append(f"{path}: expected an object ({shape.name}), got {type(value).__name__}")
            return
        for name in shape.required_members:
            if name not in value:
                out.append(f"{path}: required member '{name}' of {shape.name} is missing")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                out.append(f"{path}: '{name}' is not a member of {shape.name} (AWS defines: {', '.join(shape.members)})")
                continue
            if member_value is None:
                out.append(f"{path}.{name}: null is never sent by AWS; omit the member")
                continue
            _problems(member, member_value, f"{path}.{name}", out, response)
    elif kind == "list":
        if not isinstance(value, list):
            out.append(f"{path}: expected a list ({shape.name}), got {type(value).__name__}")
            return
        # A list's minimum constrains what callers send: AWS answers "none" with an
        # empty list (ListImages of an empty repository, a BatchDeleteImage whose
        # every id failed).
        if value or not response:
            _length(shape, len(value), path, out)
        for i, item in enumerate(value):
            _problems(shape.member, item, f"{path}[{i}]", out, response)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(f"{path}: expected a map ({shape.name}), got {type(value).__name__}")
            return
        _length(shape, len(value), path, out)
        for key, item in value.items():
            _problems(shape.key, key, f"{path}<key>", out, response)
            _problems(shape.value, item, f"{path}[{key!r}]", out, response)
    elif kind == "string":
        if not isinstance(value, str):
            out.append(f"{path}: expected a string ({shape.name}), got {type(value).__name__}")
            return
        enum = meta.get("enum") or getattr(shape, "enum", None)
        if enum and value not in enum:
            out.append(f"{path}: '{value}' is not one of {shape.name}'s values {list(enum)}")
        _length(shape, len(value), path, out)
        pattern = meta.get("pattern")
        if pattern and not re.search(pattern, value):
            out.append(f"{path}: '{value[:80]}' does not match {shape.name}'s pattern {pattern}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{path}: expected an integer ({shape.name}), got {value!r}")
            return
        if "min" in meta and value < meta["min"]:
            out.append(f"{path}: {value} is below {shape.name}'s minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            out.append(f"{path}: {value} is above {shape.name}'s maximum {meta['max']}")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: expected a number ({shape.name}), got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected a boolean ({shape.name}), got {value!r}")
    elif kind == "timestamp":
        # AWS JSON 1.1 sends timestamps as epoch seconds (fractions allowed).
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: expected epoch seconds ({shape.name}), got {value!r}")
    elif kind == "blob":
        if not isinstance(value, str):
            out.append(f"{path}: expected base64 text ({shape.name}), got {type(value).__name__}")
            return
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            out.append(f"{path}: not valid base64 ({shape.name})")
    else:
        out.append(f"{path}: shape kind {kind} is not checked")


def _length(shape, length, path, out):
    meta = shape.metadata
    if "min" in meta and length < meta["min"]:
        out.append(f"{path}: length {length} is below {shape.name}'s minimum {meta['min']}")
    if "max" in meta and length > meta["max"]:
        out.append(f"{path}: length {length} is above {shape.name}'s maximum {meta['max']}")


def problems(shape, value, path, response=False):
    """What is wrong with `value` as an instance of `shape` (empty when nothing);
    `response` when AWS would be the one sending it."""
    out = []
    if shape is None:
        if value not in ({}, None):
            out.append(f"{path}: AWS defines no members here, got {value!r}")
        return out
    _problems(shape, value, path, out, response)
    return out


def check_exchange(record):
    """Problems with one recorded exchange: {target, status, request, response, origin}."""
    target = record.get("target") or ""
    if not target.startswith(TARGET_PREFIX):
        return []
    name = target[len(TARGET_PREFIX):]
    if name not in model().operation_names:
        return []
    operation = model().operation_model(name)
    out = []
    status = record["status"]
    response = record.get("response")
    if 200 <= status < 300:
        out += problems(operation.output_shape, response, f"{name} response", response=True)
    else:
        error_type = (response or {}).get("__type", "")
        error_type = error_type.rsplit("#", 1)[-1]
        declared = {shape.name for shape in operation.error_shapes}
        if error_type not in declared | COMMON_ERRORS:
            out.append(
                f"{name} answered {status} {error_type!r}, which AWS does not declare for it "
                f"(declared: {', '.join(sorted(declared))})"
            )
        if status < 500 and not isinstance((response or {}).get("message"), str):
            out.append(f"{name} error {error_type!r} has no message")
    if record.get("origin"):
        out += problems(operation.input_shape, record.get("request"), f"{name} request from the console")
    return out


def check_exchanges(path):
    """Every problem in a recording file, each with the exchange it came from."""
    out = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        found = check_exchange(record)
        if found:
            out.append({"exchange": record, "problems": found})
    return out
