"""Scale-out: two `berth-registry` processes on one PostgreSQL database and one S3
bucket (moto), behind nginx with deploy/nginx.conf; the real docker engine pushes
and pulls through nginx, raw requests go to each process directly where a test
must choose which one answers. And `berth-registry migrate` of an embedded registry."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from conftest import REGISTRY_BIN, ROOT, Registry
from layout import layer_tar
from oci import OCI_INDEX, OCI_MANIFEST, OciClient, digest_of
from scale import NGINX_CONF, S3_KEYS, Cluster, Services

AWS = shutil.which("aws") or f"{sys.executable} -m awscli"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    started = Services(tmp_path_factory.mktemp("services"))
    yield started
    started.stop()


@pytest.fixture
def cluster(tmp_path, services):
    running = Cluster(tmp_path, services)
    yield running
    running.stop()


def run(args, env=None, check=True, input=None, cwd=None, timeout=600):
    result = subprocess.run(args, capture_output=True, text=True, env=env, input=input, cwd=cwd, timeout=timeout,
                            shell=isinstance(args, str))
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class Docker:
    """The docker CLI with a private config, logged in to one registry endpoint."""

    def __init__(self, endpoint, tmp_path):
        self.endpoint = endpoint
        self.env = endpoint.aws_env()
        self.env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
        self.images = []
        login = run(f"{AWS} ecr get-login-password --region {endpoint.region} --endpoint-url {endpoint.url} "
                    f"| docker login --username AWS --password-stdin {endpoint.host}", env=self.env)
        assert "Login Succeeded" in login.stdout, login.stderr

    def __call__(self, *args, check=True, timeout=600):
        return run(["docker", *args], env=self.env, check=check, timeout=timeout)

    def build(self, tmp_path, name, files):
        """An image FROM scratch with one layer per file (no base image can be downloaded)."""
        context = tmp_path / f"context-{name.replace('/', '-').replace(':', '-')}"
        context.mkdir()
        lines = ["FROM scratch"]
        for i, (file_name, content) in enumerate(files.items()):
            (context / file_name).write_bytes(content)
            lines.append(f"COPY {file_name} /data/{i}/{file_name}")
        (context / "Dockerfile").write_text("\n".join(lines) + "\n")
        tag = f"{self.endpoint.host}/{name}"
        self("build", "-t", tag, str(context))
        self.images.append(tag)
        return tag

    def push(self, tag):
        pushed = self("push", tag).stdout
        return re.search(r"digest: (sha256:[0-9a-f]{64})", pushed).group(1)

    def pulled_digest(self, tag):
        self("rmi", "-f", tag)
        self("pull", tag)
        repo_digests = json.loads(self("inspect", tag).stdout)[0]["RepoDigests"]
        return [d.split("@", 1)[1] for d in repo_digests if d.startswith(tag.rsplit(":", 1)[0] + "@")]

    def clean(self):
        if self.images:
            self("rmi", "-f", *self.images, check=False)


@pytest.fixture
def docker_of(tmp_path):
    made = []

    def login(endpoint):
        docker = Docker(endpoint, tmp_path / f"docker-{len(made)}")
        made.append(docker)
        return docker

    yield login
    for docker in made:
        docker.clean()


def fetch(url):
    """A GET with no credentials at all, as a client following a presigned URL sends it."""
    with urllib.request.urlopen(url, timeout=120) as response:
        assert response.status == 200
        return response.read()


def client_for(cluster, url):
    """An OCI client that talks to `url` with a token issued through the cluster."""
    token = OciClient.for_registry(cluster).token
    return OciClient(url, token)


def test_docker_pushes_and_pulls_through_the_load_balancer(cluster, docker_of, tmp_path):
    cluster.ecr().create_repository(repositoryName="team/app")
    docker = docker_of(cluster)
    tag = docker.build(tmp_path, "team/app:v1", {"small.txt": b"hello\n", "big.bin": os.urandom(12 * MIB)})
    digest = docker.push(tag)
    assert docker.pulled_digest(tag) == [digest]
    # Every process answers for the image, whichever one stored it.
    for process in cluster.processes:
        client = client_for(cluster, process.url)
        assert client.request("HEAD", f"/v2/team/app/manifests/{digest}").status == 200
        assert client.request("HEAD", "/v2/team/app/manifests/v1").headers["docker-content-digest"] == digest
    cluster.assert_consistent()


def test_a_chunked_upload_alternates_processes_between_chunks(cluster):
    cluster.ecr().create_repository(repositoryName="chunked")
    first, second = (client_for(cluster, p.url) for p in cluster.processes)
    # Chunks below S3's 5 MiB multipart minimum, together above one multipart part.
    chunks = [os.urandom(MIB + 17), os.urandom(3 * MIB), os.urandom(4 * MIB + 5), os.urandom(1234), os.urandom(2 * MIB)]
    data = b"".join(chunks)
    started = first.request("POST", "/v2/chunked/blobs/uploads/")
    assert started.status == 202, started
    location = started.headers["location"]
    offset = 0
    for i, chunk in enumerate(chunks):
        client = (first, second)[i % 2]
        other = (second, first)[i % 2]
        r = client.request("PATCH", location, chunk, {"Content-Type": "application/octet-stream",
                                                     "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
        assert r.status == 202, r
        offset += len(chunk)
        assert r.headers["range"] == f"0-{offset - 1}"
        # The other process knows where the upload stands, and refuses a chunk at the wrong offset.
        status = other.request("GET", location)
        assert status.status == 204 and status.headers["range"] == f"0-{offset - 1}", status
        wrong = other.request("PATCH", location, b"late", {"Content-Range": f"{offset - 1}-{offset + 2}"})
        assert wrong.status == 416, wrong
    digest = digest_of(data)
    done = second.request("PUT", f"{location}?digest={digest}")
    assert done.status == 201, done
    lb = client_for(cluster, cluster.url)
    assert lb.request("GET", f"/v2/chunked/blobs/{digest}").body == data
    assert cluster.sql("SELECT COUNT(*) FROM uploads") == [["0"]]
    cluster.assert_consistent()


def test_eight_concurrent_docker_pushers(cluster, docker_of, tmp_path):
    cluster.ecr().create_repository(repositoryName="many")
    docker = docker_of(cluster)
    shared = os.urandom(2 * MIB)
    tags = [docker.build(tmp_path, f"many:v{i}", {"shared.bin": shared, "own.txt": f"image {i}\n".encode()})
            for i in range(8)]
    digests, errors = {}, []

    def push(tag):
        try:
            digests[tag] = docker.push(tag)
        except Exception as error:  # reported below, with its tag
            errors.append((tag, repr(error)))

    threads = [threading.Thread(target=push, args=(tag,)) for tag in tags]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert errors == [] and len(digests) == 8, errors
    for tag in tags:
        assert docker.pulled_digest(tag) == [digests[tag]]
    listed = cluster.ecr().list_images(repositoryName="many")["imageIds"]
    assert sorted(i["imageTag"] for i in listed) == [f"v{i}" for i in range(8)]
    cluster.assert_consistent()


def test_kill_9_mid_push_the_retry_succeeds_through_the_other_process(services, docker_of, tmp_path):
    # nginx sends everything to the first process while it lives (the second is a
    # backup), so the push is surely mid-flight on the process that is killed.
    cluster = Cluster(tmp_path, services, backup_last=True)
    try:
        cluster.ecr().create_repository(repositoryName="crash")
        docker = docker_of(cluster)
        tag = docker.build(tmp_path, "crash:v1", {"big.bin": os.urandom(96 * MIB)})
        push = subprocess.Popen(["docker", "push", tag], env=docker.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 300
        # The big layer is streaming into S3 once a multipart upload of an upload part exists.
        while not any("/uploads/" in key for key in cluster.multipart_uploads()):
            assert push.poll() is None, f"the push ended before it could be interrupted:\n{push.stdout.read()}"
            assert time.monotonic() < deadline, "the big layer never started streaming"
            time.sleep(0.05)
        cluster.processes[0].kill()
        output, _ = push.communicate(timeout=600)
        assert push.returncode == 0, output
        assert "Retrying" in output, output
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", output).group(1)
        assert docker.pulled_digest(tag) == [digest]
        cluster.assert_consistent()
        # What the killed process left (its session, its chunk's unfinished multipart
        # upload) is the expiry's to remove, and it removes all of it.
        assert cluster.multipart_uploads(), "the killed process left an unfinished multipart upload"
        idle_since = time.time()
        while time.time() < idle_since + 2:
            time.sleep(0.05)
        report = gc_report(cluster, "--upload-expiry", "1s")
        assert report["uploadsExpired"] >= 1 and report["failureCount"] == 0, report
        assert cluster.multipart_uploads() == []
        assert cluster.objects("uploads/") == {}
        assert cluster.sql("SELECT COUNT(*) FROM uploads") == [["0"]]
        assert docker.pulled_digest(tag) == [digest]
    finally:
        cluster.stop()


def test_a_tag_moved_through_one_process_is_what_the_other_serves_at_once(cluster, docker_of, tmp_path):
    cluster.ecr().create_repository(repositoryName="moving")
    first, second = (client_for(cluster, p.url) for p in cluster.processes)
    tar = layer_tar({"hello.txt": b"hello\n"})
    layer = first.push_blob("moving", tar)
    config_bytes = json.dumps({"architecture": "amd64", "os": "linux",
                               "rootfs": {"type": "layers", "diff_ids": [layer]}}).encode()
    config = second.push_blob("moving", config_bytes)

    def manifest(n):
        return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config,
                                      "size": len(config_bytes)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer,
                                       "size": len(tar)}],
                           "annotations": {"n": str(n)}}).encode()

    for n in range(20):
        writer, reader = (first, second) if n % 2 == 0 else (second, first)
        raw = manifest(n)
        assert writer.push_manifest("moving", "live", raw).status == 201
        got = reader.request("GET", "/v2/moving/manifests/live", headers={"Accept": OCI_MANIFEST})
        assert got.status == 200 and got.body == raw, f"round {n}: {got}"
    # And docker, through nginx, pulls what the last move made.
    docker = docker_of(cluster)
    assert docker("pull", f"{cluster.host}/moving:live").returncode == 0
    docker.images.append(f"{cluster.host}/moving:live")
    assert docker("inspect", "--format", "{{index .RepoDigests 0}}", f"{cluster.host}/moving:live").stdout.strip() \
        == f"{cluster.host}/moving@{digest_of(manifest(19))}"


def test_blob_redirect_pulls_follow_the_redirect(services, docker_of, tmp_path):
    cluster = Cluster(tmp_path, services, extra_args=["--blob-redirect"])
    try:
        cluster.ecr().create_repository(repositoryName="redirected")
        docker = docker_of(cluster)
        content = os.urandom(3 * MIB)
        tag = docker.build(tmp_path, "redirected:v1", {"layer.bin": content})
        digest = docker.push(tag)
        # docker pull gets no bytes from the registry for blobs: it must follow.
        assert docker.pulled_digest(tag) == [digest]

        client = client_for(cluster, cluster.url)
        manifest = client.request("GET", "/v2/redirected/manifests/v1",
                                  headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).json()
        layer = manifest["layers"][0]["digest"]
        got = client.request("GET", f"/v2/redirected/blobs/{layer}")
        assert got.status == 307 and got.body == b"", got
        location = got.headers["location"]
        assert location.startswith(f"{services.s3_endpoint}/{services.bucket}/{cluster.prefix}/blobs/sha256/")
        assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
        assert digest_of(fetch(location)) == layer
        # HEAD answers from the registry, with the size, and redirects nowhere.
        head = client.request("HEAD", f"/v2/redirected/blobs/{layer}")
        assert head.status == 200 and int(head.headers["content-length"]) == manifest["layers"][0]["size"]
        # Authorization is the streamed GET's: no token, no redirect; no permission, no redirect.
        assert OciClient(cluster.url).request("GET", f"/v2/redirected/blobs/{layer}").status == 401
        user = json.loads(run([REGISTRY_BIN, "user", "add", "outsider", "--database", cluster.database]).stdout)
        outsider = OciClient.for_registry(cluster, key=user["accessKeyId"], secret=user["secretAccessKey"])
        denied = outsider.request("GET", f"/v2/redirected/blobs/{layer}")
        assert denied.status == 403 and "location" not in denied.headers, denied
        # GetDownloadUrlForLayer hands out the store's presigned URL, as ECR does.
        url = cluster.ecr().get_download_url_for_layer(repositoryName="redirected", layerDigest=layer)["downloadUrl"]
        assert url.startswith(f"{services.s3_endpoint}/{services.bucket}/")
        assert digest_of(fetch(url)) == layer
    finally:
        cluster.stop()


def describe_all(endpoint, repository):
    details = endpoint.ecr().describe_images(repositoryName=repository)["imageDetails"]
    return sorted((d["imageDigest"], sorted(d.get("imageTags", [])), d["imageSizeInBytes"],
                   d["imagePushedAt"].timestamp(), d["imageManifestMediaType"]) for d in details)


def test_migrate_an_embedded_registry_then_every_image_pulls_and_verifies(services, docker_of, tmp_path):
    (tmp_path / "embedded").mkdir()
    embedded = Registry(tmp_path / "embedded")
    ecr = embedded.ecr()
    ecr.create_repository(repositoryName="app", imageScanningConfiguration={"scanOnPush": True},
                          tags=[{"Key": "team", "Value": "web"}])
    ecr.create_repository(repositoryName="multi/app", imageTagMutability="IMMUTABLE")
    ecr.create_repository(repositoryName="empty")
    docker = docker_of(embedded)
    pushed = {}
    for version in ["v1", "v2"]:
        tag = docker.build(tmp_path, f"app:{version}", {"app.txt": f"app {version}\n".encode(),
                                                        "data.bin": os.urandom(MIB)})
        pushed[f"app:{version}"] = docker.push(tag)
    client = OciClient.for_registry(embedded)
    children = []
    for arch in ["amd64", "arm64"]:
        config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        raw, digest = client.push_image("multi/app", f"only-{arch}", [os.urandom(50_000)], config=config)
        children.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(raw),
                         "platform": {"architecture": arch, "os": "linux"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    assert client.push_manifest("multi/app", "multi", index, OCI_INDEX).status == 201
    user = embedded.add_user("ci")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "CiPulls", "Effect": "Allow", "Principal": {"AWS": user["arn"]},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
    ecr.set_repository_policy(repositoryName="app", policyText=policy)
    lifecycle = json.dumps({"rules": [{"rulePriority": 1, "description": "keep five",
                                       "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                     "countNumber": 5},
                                       "action": {"type": "expire"}}]})
    ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=lifecycle)
    kept_lifecycle = ecr.get_lifecycle_policy(repositoryName="app")["lifecyclePolicyText"]
    before = {name: describe_all(embedded, name) for name in ["app", "multi/app"]}
    embedded.stop()

    database = services.new_database()
    blob_store, prefix = services.new_blob_store()
    env = dict(os.environ, **S3_KEYS)

    def migrate():
        result = run([REGISTRY_BIN, "migrate", "--data", str(embedded.data), "--database", database,
                      "--blob-store", blob_store], env=env)
        return result.stdout

    first = migrate()
    blob_count = int(re.search(r"blobs: (\d+) copied", first).group(1))
    assert blob_count > 0 and "0 already there" in first, first
    # Run again: everything is there already, nothing is copied twice.
    assert f"blobs: 0 copied (0 bytes, each verified), {blob_count} already there" in migrate()

    (tmp_path / "cluster").mkdir()
    cluster = Cluster(tmp_path / "cluster", services, database=database, blob_store=(blob_store, prefix),
                      admin=(embedded.access_key_id, embedded.secret_access_key))
    try:
        # An interrupted copy: a blob and a repository missing from the target.
        lost = next(iter(cluster.objects("blobs/sha256/")))
        services.s3().delete_object(Bucket=services.bucket, Key=lost)
        cluster.sql("DELETE FROM repositories WHERE name = 'multi/app'")
        resumed = migrate()
        assert "blobs: 1 copied" in resumed, resumed

        for name in ["app", "multi/app"]:
            assert describe_all(cluster, name) == before[name]
        repositories = {r["repositoryName"]: r for r in cluster.ecr().describe_repositories()["repositories"]}
        assert sorted(repositories) == ["app", "empty", "multi/app"]
        assert repositories["multi/app"]["imageTagMutability"] == "IMMUTABLE"
        assert repositories["app"]["imageScanningConfiguration"]["scanOnPush"] is True
        assert cluster.ecr().get_lifecycle_policy(repositoryName="app")["lifecyclePolicyText"] == kept_lifecycle
        arn = repositories["app"]["repositoryArn"]
        assert cluster.ecr().list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "web"}]

        # Every image pulls and verifies, through nginx.
        docker = docker_of(cluster)
        for name, digest in pushed.items():
            tag = f"{cluster.host}/{name}"
            docker.images.append(tag)
            assert docker.pulled_digest(tag) == [digest]
        lb = client_for(cluster, cluster.url)
        got = lb.request("GET", "/v2/multi/app/manifests/multi", headers={"Accept": OCI_INDEX})
        assert got.body == index
        for child in children:
            manifest = lb.request("GET", f"/v2/multi/app/manifests/{child['digest']}", headers={"Accept": OCI_MANIFEST})
            assert digest_of(manifest.body) == child["digest"]
            for blob in [manifest.json()["config"], *manifest.json()["layers"]]:
                assert digest_of(lb.request("GET", f"/v2/multi/app/blobs/{blob['digest']}").body) == blob["digest"]

        # The user, their key and the policy came along: pulls allowed, pushes not.
        ci = OciClient.for_registry(cluster, key=user["accessKeyId"], secret=user["secretAccessKey"])
        assert ci.request("GET", "/v2/app/manifests/v1").status == 200
        assert ci.request("POST", "/v2/app/blobs/uploads/").status == 403
        cluster.assert_consistent()
    finally:
        cluster.stop()


def test_the_readme_shows_the_tested_nginx_config():
    readme = (ROOT / "README.md").read_text()
    assert NGINX_CONF.read_text().strip() in readme, "README's nginx config is deploy/nginx.conf, verbatim"


def gc_report(cluster, *args):
    """One `berth-registry gc --json` against the cluster's database and bucket."""
    result = subprocess.run([REGISTRY_BIN, "gc", "--database", cluster.database, "--blob-store", cluster.blob_store,
                             "--json", *args], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, **S3_KEYS))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_garbage_collection_on_postgres_and_s3_never_hurts_pushes_on_either_process(services, tmp_path):
    # Both processes collect every second (one at a time, by the advisory lock), and
    # `berth-registry gc` runs back to back beside them, while both take pushes.
    cluster = Cluster(tmp_path, services, extra_args=["--gc-interval", "1s"])
    try:
        ecr = cluster.ecr()
        ecr.create_repository(repositoryName="keep")
        clients = [client_for(cluster, p.url) for p in cluster.processes]
        shared = [os.urandom(40_000 + i) for i in range(3)]
        images, errors, reports = {}, [], []
        stop = threading.Event()

        def collect():
            while not stop.is_set():
                try:
                    reports.append(gc_report(cluster))
                except Exception as error:  # reported below
                    errors.append(("gc", repr(error)))
                    return

        def pusher(k):
            client = clients[k % 2]
            try:
                for i in range(6):
                    layers = [shared[(k + i) % 3], os.urandom(9_000 + k * 100 + i)]
                    if i % 2:
                        # Pushed, then the repository goes: its unique layer is garbage,
                        # while the other pushers upload the shared ones again.
                        scratch = f"scratch/{k}-{i}"
                        ecr.create_repository(repositoryName=scratch)
                        client.push_image(scratch, "v1", layers)
                        ecr.delete_repository(repositoryName=scratch, force=True)
                    else:
                        raw, digest = client.push_image("keep", f"p{k}-{i}", layers)
                        images[f"p{k}-{i}"] = (raw, digest)
            except Exception as error:  # reported below, with the pusher
                errors.append((k, repr(error)))

        collector = threading.Thread(target=collect)
        collector.start()
        pushers = [threading.Thread(target=pusher, args=(k,)) for k in range(4)]
        for thread in pushers:
            thread.start()
        for thread in pushers:
            thread.join(timeout=600)
        stop.set()
        collector.join(timeout=600)
        assert errors == [], errors

        # An upload abandoned mid-way expires with its chunk objects.
        started = clients[0].request("POST", "/v2/keep/blobs/uploads/")
        assert clients[0].request("PATCH", started.headers["location"], b"x" * 5000).status == 202
        assert any("/uploads/" in key for key in cluster.objects("uploads/"))
        idle_since = time.time()
        while time.time() < idle_since + 2:
            time.sleep(0.05)
        final = gc_report(cluster, "--upload-expiry", "1s")
        assert final["failureCount"] == 0 and final["uploadsExpired"] >= 1, final
        assert cluster.objects("uploads/") == {}
        assert cluster.sql("SELECT COUNT(*) FROM uploads") == [["0"]]
        assert sum(r["blobsDeleted"] for r in reports + [final]) > 0, "scratch layers were freed"

        # Exactly the referenced blobs remain, and every kept image pulls whole.
        live = {row[0] for row in cluster.sql(
            "SELECT digest FROM repository_blobs UNION SELECT blob_digest FROM manifest_blobs")}
        recorded = {row[0] for row in cluster.sql("SELECT digest FROM blobs")}
        assert recorded == live
        stored = {"sha256:" + key.rsplit("/", 1)[1] for key in cluster.objects("blobs/sha256/")}
        assert stored == live
        lb = client_for(cluster, cluster.url)
        for tag, (raw, digest) in images.items():
            got = lb.request("GET", f"/v2/keep/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
            assert got.status == 200 and got.body == raw
            for layer in json.loads(raw)["layers"]:
                assert digest_of(lb.request("GET", f"/v2/keep/blobs/{layer['digest']}").body) == layer["digest"]
        cluster.assert_consistent()
    finally:
        cluster.stop()


def test_lifecycle_preview_started_through_one_process_is_answered_by_the_other_and_a_run_expires_once(
        cluster):
    from test_lifecycle import keep_tagged, policy, push

    import boto3

    def ecr_of(url):
        return boto3.client("ecr", endpoint_url=url, region_name=cluster.region,
                            aws_access_key_id=cluster.access_key_id,
                            aws_secret_access_key=cluster.secret_access_key)

    first, second = (ecr_of(p.url) for p in cluster.processes)
    first.create_repository(repositoryName="app")
    client = client_for(cluster, cluster.url)
    digests = {f"v{i}": push(client, "app", f"image {i}", tag=f"v{i}")[1] for i in range(1, 5)}
    draft = policy(keep_tagged(2))
    assert first.start_lifecycle_policy_preview(repositoryName="app", lifecyclePolicyText=draft)["status"] \
        == "IN_PROGRESS"
    # The preview's state and result are in the database: the other process answers.
    deadline = time.monotonic() + 60
    while (preview := second.get_lifecycle_policy_preview(repositoryName="app"))["status"] != "COMPLETE":
        assert time.monotonic() < deadline, preview
        time.sleep(0.05)
    assert [r["imageDigest"] for r in preview["previewResults"]] == [digests["v1"], digests["v2"]]

    # Runs from both processes and the command line at once: each image expires once.
    second.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=draft)
    runs = [subprocess.Popen([REGISTRY_BIN, "lifecycle", "run", "--database", cluster.database, "--blob-store",
                              cluster.blob_store, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, **S3_KEYS)) for _ in range(3)]
    expired = []
    for run_ in runs:
        out, err = run_.communicate(timeout=300)
        assert run_.returncode == 0, err
        expired += [image["imageDigest"] for image in json.loads(out)["expired"]]
    assert sorted(expired) == sorted([digests["v1"], digests["v2"]])
    left = first.list_images(repositoryName="app")["imageIds"]
    assert sorted(i["imageTag"] for i in left) == ["v3", "v4"]
