"""A small OCI Distribution client over raw HTTP, for protocol tests: it lets a
test send exactly the request it means, including wrong ones."""

import base64
import hashlib
import http.client
import json
from urllib.parse import urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.all_headers = [(k.lower(), v) for k, v in headers]
        self.body = body

    def header_values(self, name):
        """Every value of a header that may be sent more than once."""
        return [v for k, v in self.all_headers if k == name.lower()]

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        return self.json()["errors"][0]["code"]

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:300]!r}>"


class OciClient:
    def __init__(self, registry_url, token=None):
        parts = urlsplit(registry_url)
        self.host, self.port = parts.hostname, parts.port
        self.token = token

    @classmethod
    def for_registry(cls, registry, key=None, secret=None):
        data = registry.ecr(key=key, secret=secret).get_authorization_token()["authorizationData"][0]
        user, token = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        assert user == "AWS"
        return cls(registry.url, token)

    def request(self, method, path, body=b"", headers=None, auth=True):
        headers = dict(headers or {})
        if auth and self.token is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"AWS:{self.token}".encode()).decode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Response(response.status, response.getheaders(), response.read())
        finally:
            conn.close()

    def push_blob(self, name, data: bytes) -> str:
        digest = digest_of(data)
        r = self.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data,
                         {"Content-Type": "application/octet-stream"})
        assert r.status == 201, r
        return digest

    def push_manifest(self, name, reference, manifest, media_type=OCI_MANIFEST) -> Response:
        raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        return self.request("PUT", f"/v2/{name}/manifests/{reference}", raw, {"Content-Type": media_type})

    def push_image(self, name, tag, layers, config=None, media_type=OCI_MANIFEST):
        """Pushes layers, a config and a manifest; returns (manifest bytes, digest)."""
        config = config or json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        layer_type = OCI_LAYER if media_type == OCI_MANIFEST else "application/vnd.docker.image.rootfs.diff.tar.gzip"
        config_type = OCI_CONFIG if media_type == OCI_MANIFEST else "application/vnd.docker.container.image.v1+json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "digest": self.push_blob(name, config), "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": self.push_blob(name, l), "size": len(l)} for l in layers],
        }
        raw = json.dumps(manifest).encode()
        r = self.push_manifest(name, tag, raw, media_type)
        assert r.status == 201, r
        return raw, digest_of(raw)
