"""Builds OCI image layouts on disk (what `skopeo copy oci:…` reads), so tests can
push real multi-platform images without downloading a base image."""

import hashlib
import io
import json
import os
import tarfile


def _write_blob(root, data: bytes):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def layer_tar(files: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def image_manifest(root, architecture, files, variant=None):
    """Writes one single-layer image into the layout; returns (manifest bytes, digest, platform)."""
    layer = layer_tar(files)
    layer_digest = _write_blob(root, layer)
    platform = {"architecture": architecture, "os": "linux"}
    if variant:
        platform["variant"] = variant
    config = json.dumps(dict(platform, rootfs={"type": "layers", "diff_ids": [layer_digest]},
                             config={"Cmd": ["/hello"]})).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _write_blob(root, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
    }).encode()
    return manifest, _write_blob(root, manifest), platform


def write_layout(root, tag, platforms):
    """An OCI layout whose `tag` is an index over one image per (architecture, variant)."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    entries = []
    for architecture, variant in platforms:
        manifest, digest, platform = image_manifest(
            root, architecture, {"hello": f"hello from {architecture}{variant or ''}\n".encode()}, variant)
        entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                        "size": len(manifest), "platform": platform})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}, indent=2).encode()
    index_digest = _write_blob(root, index)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": index_digest, "size": len(index),
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    return index, index_digest
