"""An independent SigV4 signer for raw-HTTP tests: lets a test sign at any
clock, omit parts, or tamper, which the AWS CLI and boto3 never do."""

import datetime
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(method, url, headers, body: bytes, access_key, secret_key, region, service="ecr", at=None, signed=None):
    """Returns headers with X-Amz-Date and Authorization added (all names lowercase).
    `signed` names the headers to sign (default: all); the others travel unsigned."""
    at = at or datetime.datetime.now(datetime.timezone.utc)
    amz_date = at.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urlsplit(url)
    headers = {k.lower(): v for k, v in headers.items()}
    headers["host"] = parts.netloc
    headers["x-amz-date"] = amz_date
    names = sorted(h for h in headers if signed is None or h in signed)
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            parts.query,
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


def http(method, url, headers=None, body=b""):
    """A plain HTTP exchange: (status, headers, body bytes); never raises on 4xx/5xx."""
    request = urllib.request.Request(url, data=body if method not in ("GET", "HEAD") else None, method=method)
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def ecr_call(registry_url, action, payload, access_key, secret_key, region="us-east-1", at=None, sign_it=True):
    """One ECR API call over raw HTTP: (status, decoded JSON body)."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET_PREFIX + action}
    if sign_it:
        headers = sign("POST", registry_url + "/", headers, body, access_key, secret_key, region, at=at)
    status, _, raw = http("POST", registry_url + "/", headers, body)
    return status, json.loads(raw or b"{}")
