"""`cargo xtask bench`: Berth against the reference Distribution registry on the same
machine in the same run, against the machine's own ceilings (SHA-256, the disk, nginx
serving a static file), the ECR API, memory, the console's size and speed, and scale-out
(PostgreSQL + S3 behind nginx, 1 and 2 processes, against the embedded default).
Writes BENCHMARKS.md, with the previous run's ratios beside the new ones. Everything
runs on loopback and stops by itself. `BENCH_ONLY=scale` (or `console`) runs only
the scale-out (or console) section and prints it."""

import datetime
import gzip
import hashlib
import http.client
import json
import os
import pathlib
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

ROOT = pathlib.Path(os.environ.get("BERTH_ROOT", pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT / "e2e"))

from conftest import REGISTRY_BIN, Registry, free_port, make_browser, wait_for_port  # noqa: E402
from oci import OCI_MANIFEST, OciClient, digest_of  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import compiled  # noqa: E402
from machine import PeakRss, StaticNginx, load_average, rss_mib  # noqa: E402

MIB = 1024 * 1024
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONSOLE_DIST = pathlib.Path(os.environ.get("BERTH_CONSOLE_DIST", ROOT / "target" / "console-dist"))


def log(*args):
    print(*args, flush=True)


class Distribution:
    """Debian's docker-registry (the reference Distribution registry), fresh, no auth."""

    def __init__(self, tmp):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "distribution.yml"
        config.write_text(f"""version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {tmp / 'distribution-data'}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{self.port}
""")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, what="docker-registry")

    def client(self):
        return OciClient(self.url)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def connection(client):
    return http.client.HTTPConnection(client.host, client.port, timeout=600)


def auth_headers(client):
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"AWS:{client.token}".encode()).decode()} if client.token else {}


def upload(client, name, data: bytes, digest: str):
    """POST to start, PUT the whole blob: the monolithic flow both registries support."""
    conn = connection(client)
    try:
        conn.request("POST", f"/v2/{name}/blobs/uploads/", headers=auth_headers(client))
        r = conn.getresponse()
        r.read()
        assert r.status == 202, r.status
        location = r.getheader("Location")
        parts = urlsplit(location)
        path = parts.path + ("?" + parts.query + "&" if parts.query else "?") + f"digest={digest}"
        conn.request("PUT", path, body=data, headers={**auth_headers(client), "Content-Type": "application/octet-stream",
                                                    "Content-Length": str(len(data))})
        r = conn.getresponse()
        r.read()
        assert r.status == 201, (r.status, r.read())
    finally:
        conn.close()


def download(client, name, digest, expected):
    conn = connection(client)
    try:
        conn.request("GET", f"/v2/{name}/blobs/{digest}", headers=auth_headers(client))
        r = conn.getresponse()
        got = 0
        while chunk := r.read(4 * MIB):
            got += len(chunk)
        assert r.status == 200 and got == expected, (r.status, got)
    finally:
        conn.close()


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


CONFIG_BYTES, LAYER_BYTES = b'{"architecture":"amd64","os":"linux"}', b"a layer"


def tag_manifest(i):
    """The manifest `push_tags` stores as tag `t{i:05d}`."""
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": digest_of(CONFIG_BYTES), "size": 37},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                   "digest": digest_of(LAYER_BYTES), "size": 7}],
                       "annotations": {"n": str(i)}}).encode()


def push_tags(client, name, count):
    """`count` distinct manifests, each with its own tag, sharing one config and layer."""
    upload(client, name, CONFIG_BYTES, digest_of(CONFIG_BYTES))
    upload(client, name, LAYER_BYTES, digest_of(LAYER_BYTES))
    manifest = tag_manifest
    errors = []
    def worker(start):
        for i in range(start, count, 4):
            r = client.push_manifest(name, f"t{i:05d}", manifest(i))
            if r.status != 201:
                errors.append(r)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:1]


def wrk(client, path, seconds=8):
    headers = ["-H", "Accept: " + OCI_MANIFEST]
    for k, v in auth_headers(client).items():
        headers += ["-H", f"{k}: {v}"]
    return wrk_url(f"http://{client.host}:{client.port}{path}", headers, seconds)


def wrk_url(url, headers=(), seconds=8):
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", *headers, url],
                         capture_output=True, text=True, timeout=120).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert not non2xx, out
    return rps, pct(50), pct(99)


def sha256_ceiling():
    """MB/s (10^6 bytes, as every row) one core hashes with SHA-256."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(os.urandom(256 * MIB))
        f.flush()
        subprocess.run(["openssl", "dgst", "-sha256", f.name], capture_output=True)  # warm the page cache
        seconds = min(timed(lambda: subprocess.run(["openssl", "dgst", "-sha256", f.name], capture_output=True, check=True)) for _ in range(3))
    return 256 * MIB / 1e6 / seconds


def disk_ceiling(tmp):
    """Writing 512 MiB and fsync'ing it, as a verified upload must before it is committed."""
    path = tmp / "disk-probe"
    seconds = min(timed(lambda: subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=512", "conv=fsync"],
                                               capture_output=True, check=True)) for _ in range(2))
    path.unlink()
    return 512 * MIB / 1e6 / seconds


UPLOAD = "Blob upload 1 × 512 MiB (MB/s)"
DOWNLOAD = "Blob download 1 × 512 MiB (MB/s)"
UPLOAD_COMPILED = "Blob upload 1 × 512 MiB, compiled client (MB/s)"
DOWNLOAD_COMPILED = "Blob download 1 × 512 MiB, compiled client (MB/s)"
MANIFEST_GET = "Manifest GET by tag, 16 clients (req/s)"


def fresh_file(path, data):
    """Writes a blob's bytes for the compiled client to send, on disk before timing."""
    path.write_bytes(data)
    os.sync()


def registry_rows(tmp):
    """Registry vs Distribution, rounds alternating; nginx's ceiling for manifest GETs
    in the same rounds; Berth's memory at idle and under the manifest GET load."""
    log("registry vs Distribution …")
    big = os.urandom(512 * MIB)
    small = [os.urandom(MIB) for _ in range(200)]
    results = {}
    def record(name, system, value):
        results.setdefault(name, {}).setdefault(system, []).append(value)
    memory = {}
    # The machine's ceilings, measured in every round beside what they bound: other
    # work on the cores comes and goes, so each round is compared with its own.
    ceilings = {"sha256": [], "nginx": []}
    shares = {"upload": [], "manifest": []}

    berth = Registry(tmp / "berth", record_api=False)
    distribution = Distribution(tmp)
    nginx = StaticNginx(tmp, {"/v2/tags/manifests/t00042": tag_manifest(42)}, OCI_MANIFEST)
    try:
        berth.ecr().create_repository(repositoryName="bench")
        time.sleep(1)  # idle: nothing in flight
        memory["idle"] = rss_mib(berth.proc.pid)
        clients = {"berth": OciClient.for_registry(berth), "distribution": distribution.client()}
        for round_index in range(ROUNDS):
            for system, client in clients.items():
                name = "bench"
                # Each round needs fresh content: a blob that exists is not re-uploaded by real clients.
                suffix = os.urandom(16)
                data = big[:-16] + suffix
                digest = digest_of(data)
                os.sync()
                record(UPLOAD, system, 512 * MIB / 1e6 / timed(lambda: upload(client, name, data, digest)))
                record(DOWNLOAD, system, 512 * MIB / 1e6 / timed(lambda: download(client, name, digest, len(data))))
                data = big[:-16] + os.urandom(16)
                digest = digest_of(data)
                fresh_file(tmp / "blob", data)
                if system == "berth":
                    ceilings["sha256"].append(sha256_ceiling())
                record(UPLOAD_COMPILED, system, 512 * MIB / 1e6 / compiled.upload(client, name, tmp / "blob", digest))
                if system == "berth":
                    shares["upload"].append(results[UPLOAD_COMPILED]["berth"][-1] / ceilings["sha256"][-1])
                record(DOWNLOAD_COMPILED, system, 512 * MIB / 1e6 / compiled.download(client, name, digest, len(data)))
                blobs = [(b[:-16] + suffix, None) for b in small]
                blobs = [(b, digest_of(b)) for b, _ in blobs]
                def up_all():
                    for b, d in blobs:
                        upload(client, name, b, d)
                def down_all():
                    for b, d in blobs:
                        download(client, name, d, len(b))
                record("Blob upload 200 × 1 MiB (MB/s)", system, 200 * MIB / 1e6 / timed(up_all))
                record("Blob download 200 × 1 MiB (MB/s)", system, 200 * MIB / 1e6 / timed(down_all))
                log(f"  round {round_index + 1} {system}: blobs done")
        (tmp / "blob").unlink()
        for system, client in clients.items():
            if system == "berth":
                berth.ecr().create_repository(repositoryName="tags")
            push_tags(client, "tags", 10_000)
            log(f"  {system}: 10,000 tags pushed")
        assert clients["berth"].request("GET", "/v2/tags/manifests/t00042").body == tag_manifest(42)
        for round_index in range(ROUNDS):
            for system, client in clients.items():
                with PeakRss(berth.proc.pid) as sampled:
                    rps, p50, p99 = wrk(client, "/v2/tags/manifests/t00042")
                if system == "berth":
                    memory["manifest GETs"] = max(memory.get("manifest GETs", 0), sampled.peak)
                record(MANIFEST_GET, system, rps)
                record("Manifest GET by tag p50 (ms)", system, p50)
                record("Manifest GET by tag p99 (ms)", system, p99)
                latencies = []
                for _ in range(10):
                    start = time.perf_counter()
                    r = client.request("GET", "/v2/tags/tags/list?n=10000")
                    latencies.append((time.perf_counter() - start) * 1000)
                    assert r.status == 200 and len(r.json()["tags"]) == 10_000
                record("tags/list of 10,000 tags (ms, median)", system, statistics.median(latencies))
            ceilings["nginx"].append(wrk_url(f"{nginx.url}/v2/tags/manifests/t00042")[0])
            shares["manifest"].append(results[MANIFEST_GET]["berth"][-1] / ceilings["nginx"][-1])
            log(f"  round {round_index + 1}: manifests and tags done")
        memory["1 GiB upload"] = upload_memory(tmp, clients["berth"], berth.proc.pid)
    finally:
        berth.stop()
        distribution.stop()
        nginx.stop()
    return results, ceilings, shares, memory


def upload_memory(tmp, client, pid):
    """Berth's peak resident memory while it takes one 1 GiB blob from the compiled client."""
    path = tmp / "blob-1g"
    hasher = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(8):
            chunk = os.urandom(128 * MIB)
            hasher.update(chunk)
            f.write(chunk)
    os.sync()
    with PeakRss(pid) as sampled:
        compiled.upload(client, "bench", path, "sha256:" + hasher.hexdigest())
    path.unlink()
    return sampled.peak


def ecr_rows(tmp):
    """The ECR API through boto3 (what a Python client sees), then through the compiled
    client (what the server costs); the latter on 4 connections."""
    log("ECR API …")
    registry = Registry(tmp / "ecr", record_api=False)
    rows, compiled_rows = [], []
    try:
        ecr = registry.ecr()
        ecr.create_repository(repositoryName="images")
        push_tags(OciClient.for_registry(registry), "images", 10_000)
        for i in range(5000):
            ecr.create_repository(repositoryName=f"repo-{i:05d}")
        for action, kwargs, key, total in [
            ("describe_images", {"repositoryName": "images"}, "imageDetails", 10_000),
            ("describe_repositories", {}, "repositories", 5001),
        ]:
            latencies = []
            for _ in range(ROUNDS):
                token, seen = None, 0
                while True:
                    start = time.perf_counter()
                    page = getattr(ecr, action)(**kwargs, maxResults=100, **({"nextToken": token} if token else {}))
                    latencies.append((time.perf_counter() - start) * 1000)
                    seen += len(page[key])
                    token = page.get("nextToken")
                    if not token:
                        break
                assert seen == total, (action, seen)
            latencies.sort()
            label = {"describe_images": "DescribeImages, 10,000 images, pages of 100",
                     "describe_repositories": "DescribeRepositories, 5,000 repositories, pages of 100"}[action]
            rows.append((label, 1000 / statistics.mean(latencies), latencies[len(latencies) // 2],
                         latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]))
        for label, action, body in [
            ("DescribeImages, 10,000 images, pages of 100", "DescribeImages",
             {"repositoryName": "images", "maxResults": 100}),
            ("BatchGetImage, one image by tag (of 10,000)", "BatchGetImage",
             {"repositoryName": "images", "imageIds": [{"imageTag": "{tag}"}]}),
        ]:
            runs = [compiled.ecr(registry, action, body) for _ in range(ROUNDS)]
            compiled_rows.append((label, *[statistics.median(r[i] for r in runs) for i in range(3)]))
    finally:
        registry.stop()
    return rows, compiled_rows


LIFECYCLE_IMAGES = 10_000
LIFECYCLE_KEPT = 100


def lifecycle_rows(tmp):
    """A lifecycle policy over one repository of 10,000 images ("keep the last 100"):
    its preview through the API, then `berth-registry lifecycle run` beside `serve`,
    dry and for real (expiring 9,900 images through BatchDeleteImage's path)."""
    log("lifecycle …")
    (tmp / "lifecycle").mkdir(exist_ok=True)
    registry = Registry(tmp / "lifecycle")
    rows = []
    try:
        ecr = registry.ecr()
        ecr.create_repository(repositoryName="lifecycle")
        push_tags(OciClient.for_registry(registry), "lifecycle", LIFECYCLE_IMAGES)
        expiring = LIFECYCLE_IMAGES - LIFECYCLE_KEPT
        ecr.put_lifecycle_policy(repositoryName="lifecycle", lifecyclePolicyText=json.dumps({"rules": [{
            "rulePriority": 1, "description": f"Keep the last {LIFECYCLE_KEPT} images",
            "selection": {"tagStatus": "tagged", "tagPatternList": ["t*"], "countType": "imageCountMoreThan",
                          "countNumber": LIFECYCLE_KEPT},
            "action": {"type": "expire"}}]}))
        start = time.perf_counter()
        ecr.start_lifecycle_policy_preview(repositoryName="lifecycle")
        while (preview := ecr.get_lifecycle_policy_preview(repositoryName="lifecycle", maxResults=1))["status"] == "IN_PROGRESS":
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        assert preview["summary"]["expiringImageTotalCount"] == expiring, preview
        rows.append((f"StartLifecyclePolicyPreview to COMPLETE, {LIFECYCLE_IMAGES:,} images", seconds, None, expiring))
        for label, args in [(f"lifecycle run, dry run, {LIFECYCLE_IMAGES:,} images", ["--dry-run"]),
                            (f"lifecycle run, {LIFECYCLE_IMAGES:,} images", [])]:
            usage = tmp / "lifecycle-usage"
            start = time.perf_counter()
            out = subprocess.run(["/usr/bin/time", "-o", str(usage), "-f", "%M", REGISTRY_BIN, "lifecycle", "run",
                                  "--data", str(registry.data), "--json", *args],
                                 capture_output=True, text=True, check=True, timeout=1200).stdout
            seconds = time.perf_counter() - start
            report = json.loads(out)
            assert report["imagesExpired"] == expiring and report["failureCount"] == 0, report["failures"]
            rows.append((label, seconds, int(usage.read_text().split()[-1]) / 1024, expiring))
        left = sum(len(p["imageIds"]) for p in ecr.get_paginator("list_images").paginate(repositoryName="lifecycle"))
        assert left == LIFECYCLE_KEPT, left
    finally:
        registry.stop()
    return rows


def lifecycle_lines(rows):
    lines = ["## Lifecycle policies", "",
             f"One repository of {LIFECYCLE_IMAGES:,} images (pushed over `/v2`) and the policy \"keep the last"
             f" {LIFECYCLE_KEPT} tagged t*\". The preview is timed from StartLifecyclePolicyPreview to COMPLETE through"
             " boto3; the runs are `berth-registry lifecycle run` beside `serve` (wall time and peak RSS of the"
             " command), the second one deleting each expiring image as BatchDeleteImage does.",
             "", "| workload | seconds | peak RSS (MiB) | images expired |", "| --- | ---: | ---: | ---: |"]
    for label, seconds, rss, expired in rows:
        lines.append(f"| {label} | {seconds:.2f} | {'' if rss is None else f'{rss:.1f}'} | {expired:,} |")
    return lines + [""]


GC_BLOBS = 100_000


def gc_rows(tmp):
    """`berth-registry gc` over a registry of 100,000 blobs, half of them referenced by
    5,000 images and half by nothing; then again, with nothing left to free."""
    log("garbage collection …")
    data = tmp / "gc-data"
    made = json.loads(subprocess.run([REGISTRY_BIN, "bench-fill", "--data", str(data), "--blobs", str(GC_BLOBS)],
                                     capture_output=True, text=True, check=True, timeout=1200).stdout)
    rows = []
    for label, frees in [(f"GC of a registry with {GC_BLOBS:,} blobs, half unreferenced", GC_BLOBS - made["referenced"]),
                         ("GC of the same registry again, nothing to free", 0)]:
        # Peak RSS through GNU time: a child forked from this Python would report
        # Python's own peak, which Linux carries over exec.
        usage = tmp / "gc-usage"
        start = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-o", str(usage), "-f", "%M", REGISTRY_BIN, "gc", "--data", str(data),
                              "--json"], capture_output=True, text=True, check=True, timeout=1200).stdout
        seconds = time.perf_counter() - start
        peak_mib = int(usage.read_text().split()[-1]) / 1024
        report = json.loads(out)
        assert report["blobsDeleted"] == frees and report["failureCount"] == 0, report
        rows.append((label, seconds, peak_mib, report["blobsDeleted"]))
    left = sum(len(files) for _, _, files in os.walk(data / "blobs"))
    assert left == made["referenced"], left
    return rows


def gc_lines(rows):
    lines = ["## Garbage collection", "",
             "`berth-registry gc` on a data dir made by `berth-registry bench-fill`: 5,000 images of 10 blobs each in one"
             " repository, plus as many blobs nothing references. Wall time and peak RSS of the whole command.",
             "", "| workload | seconds | peak RSS (MiB) | blobs freed |", "| --- | ---: | ---: | ---: |"]
    for label, seconds, rss, freed in rows:
        lines.append(f"| {label} | {seconds:.2f} | {rss:.1f} | {freed:,} |")
    return lines + [""]


def console_rows(tmp):
    log("console …")
    # The first download (the main wasm, its JS, the split loader, CSS) and the
    # screens' parts fetched on demand (xtask/src/split.rs), summed per kind.
    kinds = {}
    for pattern in ["*.wasm", "*.js", "*.css"]:
        for path in sorted(CONSOLE_DIST.glob(pattern)):
            if path.suffix == ".wasm":
                kind = "wasm, first load" if path.name.endswith("_bg.wasm") else "wasm, screens' parts (on demand)"
            elif path.name.startswith("wasm-split-"):
                kind = "js, loader of the parts"
            else:
                kind = path.suffix.lstrip(".")
            raw = path.read_bytes()
            brotli_copy = path.with_name(path.name + ".br")
            total = kinds.setdefault(kind, [0, 0, 0])
            total[0] += len(raw)
            total[1] += len(gzip.compress(raw, 9))
            total[2] += brotli_copy.stat().st_size if brotli_copy.exists() else 0
    sizes = [(kind, raw, gz, br or None) for kind, (raw, gz, br) in kinds.items()]
    timings = {}
    registry = Registry(tmp / "console", console=True, record_api=False)
    browser = make_browser(tmp)
    try:
        timings["wire"] = first_load_on_the_wire(browser, registry.url + "/sign-in")
        ecr = registry.ecr()
        for i in range(1000):
            ecr.create_repository(repositoryName=f"app-{i:04d}")
        push_tags(OciClient.for_registry(registry), "app-0000", 10_000)
        conn = {"kind": "Berth", "endpoint": registry.url, "region": "us-east-1",
                "access_key_id": registry.access_key_id, "secret_access_key": registry.secret_access_key, "session_token": None}
        browser.get(registry.url + "/sign-in")
        browser.execute_script("sessionStorage.setItem('berth.connection', arguments[0]);", json.dumps(conn))
        def marks(name_data, name_rendered, path, rows_selector, expected_rows):
            runs = []
            for _ in range(ROUNDS):
                browser.get(registry.url + path)
                deadline = time.time() + 60
                while time.time() < deadline:
                    got = browser.execute_script(
                        "const r = performance.getEntriesByName(arguments[0]); const d = performance.getEntriesByName(arguments[1]);"
                        "return r.length && d.length ? [d[0].startTime, r[0].startTime] : null;", name_rendered, name_data)
                    if got:
                        break
                    time.sleep(0.05)
                assert got, f"no {name_rendered} mark"
                count = browser.execute_script(f"return document.querySelectorAll('{rows_selector}').length")
                assert count == expected_rows, count
                runs.append(got)
            return statistics.median(r[1] for r in runs), statistics.median(r[1] - r[0] for r in runs)
        # Pages of 1,000 rows (the page size is part of the list's URL).
        timings["repositories"] = marks("berth:repositories-data", "berth:repositories-rendered",
                                        "/repositories?size=1000", '[data-testid="repository-row"]', 1000)
        timings["images"] = marks("berth:images-data", "berth:images-rendered", "/repositories/app-0000?size=1000",
                                  '[data-testid="image-row"]', 1000)
        # Scroll the first 1,000 of 10,000 images while watching for long tasks.
        longest = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            let longest = 0;
            const observer = new PerformanceObserver(list => { for (const e of list.getEntries()) longest = Math.max(longest, e.duration); });
            observer.observe({type: 'longtask', buffered: false});
            let y = 0;
            function step() {
              y += 400; window.scrollTo(0, y);
              if (y < document.documentElement.scrollHeight) requestAnimationFrame(step);
              else setTimeout(() => { observer.disconnect(); done(longest); }, 200);
            }
            requestAnimationFrame(step);
        """)
        timings["longest_task_while_scrolling"] = longest
    finally:
        browser.quit()
        registry.stop()
    return sizes, timings


def first_load_on_the_wire(browser, url):
    """What a first visit (empty cache) transfers, as Chromium counts it: the page and
    every file it loads, compressed as sent, with response headers. [(name, bytes on
    the wire, bytes of body as sent, bytes decoded)]"""
    browser.get(url)
    deadline = time.time() + 60
    while time.time() < deadline:
        entries = browser.execute_script("""
            const nav = performance.getEntriesByType('navigation').map(e => ['page', e.transferSize, e.encodedBodySize, e.decodedBodySize]);
            const files = performance.getEntriesByType('resource').filter(e => /[.](wasm|js|css)$/.test(e.name))
              .map(e => [e.name.split('/').pop(), e.transferSize, e.encodedBodySize, e.decodedBodySize, e.responseEnd]);
            return [nav, files];""")
        nav, files = entries
        if nav and any(f[0].endswith(".wasm") and f[4] > 0 for f in files):
            return [tuple(e) for e in nav] + [tuple(f[:4]) for f in files]
        time.sleep(0.1)
    raise AssertionError("the console's wasm never finished loading")


SCALE_SYSTEMS = ["embedded, 1 process", "PostgreSQL + S3, 1 process", "PostgreSQL + S3, 2 processes"]


def cpu_seconds_by_component():
    """CPU seconds used so far by each kind of process on the machine: registry,
    nginx, PostgreSQL, the S3 server, the load generator, the Python client."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if comm == "berth-registry":
            kind = "registry"
        elif comm == "nginx":
            kind = "nginx"
        elif comm == "postgres":
            kind = "PostgreSQL"
        elif "moto_server" in cmdline:
            kind = "S3 (moto)"
        elif int(pid) == os.getpid():
            kind = "client"
        else:
            continue
        used[kind] = used.get(kind, 0.0) + seconds
    # wrk has exited by the time a snapshot is taken: count it as a finished child.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["wrk"] = children.ru_utime + children.ru_stime
    return used


def cpu_shares(before, after, wall):
    """Cores each component kept busy between two snapshots."""
    return {k: (after.get(k, 0.0) - before.get(k, 0.0)) / wall for k in after if after.get(k, 0.0) > before.get(k, 0.0)}


def scale_rows(tmp):
    """The same three workloads through nginx (deploy/nginx.conf): the embedded
    default, then PostgreSQL + S3 with one and with two processes."""
    log("scale-out through nginx …")
    from scale import Cluster, Nginx, Services

    services = Services(tmp)
    results, shares = {}, {}
    def record(name, system, value):
        results.setdefault(name, {}).setdefault(system, []).append(value)

    (tmp / "scale-embedded").mkdir()
    embedded = Registry(tmp / "scale-embedded")
    endpoints = {SCALE_SYSTEMS[0]: (embedded, Nginx(tmp / "scale-embedded", [embedded.port]))}
    clusters = []
    for system, processes in [(SCALE_SYSTEMS[1], 1), (SCALE_SYSTEMS[2], 2)]:
        path = tmp / f"scale-{processes}"
        path.mkdir()
        cluster = Cluster(path, services, processes=processes)
        clusters.append(cluster)
        endpoints[system] = (cluster, cluster.nginx)
    try:
        clients = {}
        for system, (endpoint, nginx) in endpoints.items():
            endpoint.ecr().create_repository(repositoryName="bench")
            clients[system] = OciClient(nginx.url, OciClient.for_registry(endpoint).token)
            push_tags(clients[system], "bench", 1)
        base = os.urandom(64 * MIB)
        for round_index in range(ROUNDS):
            for system, client in clients.items():
                def measured(name, work):
                    before, start = cpu_seconds_by_component(), time.perf_counter()
                    value = work()
                    used = cpu_shares(before, cpu_seconds_by_component(), time.perf_counter() - start)
                    shares.setdefault((name, system), []).append(used)
                    record(name, system, value)
                measured("Manifest GET by tag, 16 clients (req/s)",
                         lambda: wrk(client, "/v2/bench/manifests/t00000", seconds=6)[0])
                blobs = []
                for _ in range(4):
                    data = base[:-16] + os.urandom(16)
                    blobs.append((data, digest_of(data)))
                def parallel(work):
                    threads = [threading.Thread(target=work, args=blob) for blob in blobs]
                    start = time.perf_counter()
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                    return 4 * 64 * MIB / 1e6 / (time.perf_counter() - start)
                measured("Blob upload 4 × 64 MiB at once (MB/s)",
                         lambda: parallel(lambda d, g: upload(client, "bench", d, g)))
                measured("Blob download 4 × 64 MiB at once (MB/s)",
                         lambda: parallel(lambda d, g: download(client, "bench", g, len(d))))
            log(f"  round {round_index + 1}: scale-out done")
    finally:
        for cluster in clusters:
            cluster.stop()
        endpoints[SCALE_SYSTEMS[0]][1].stop()
        embedded.stop()
        services.stop()
    return results, shares


def scale_section(results, shares):
    lines = ["## Scale-out through nginx", "",
             "The same client load through nginx (`deploy/nginx.conf`, 2 workers) in front of the embedded default,"
             " then of `berth-registry` processes sharing PostgreSQL 15 (a local throwaway cluster) and S3 (moto's"
             " server, a single Python process). Everything, load generator included, shares the same 2 cores.", "",
             f"| workload | {' | '.join(SCALE_SYSTEMS)} | 2 processes / 1 |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, by_system in results.items():
        values = [statistics.median(by_system[s]) for s in SCALE_SYSTEMS]
        lines.append(f"| {name} | {' | '.join(f'{v:,.0f}' for v in values)} | {values[2] / values[1]:.2f}× |")
    kinds = ["registry", "nginx", "PostgreSQL", "S3 (moto)", "wrk", "client"]
    lines += ["", "Cores each part kept busy while it ran (median of the rounds; the machine has 2):", "",
              "| workload | system | " + " | ".join(kinds) + " |",
              "| --- | --- |" + " ---: |" * len(kinds)]
    for name in results:
        for system in SCALE_SYSTEMS:
            cells = [f"{statistics.median(s.get(kind, 0.0) for s in shares[(name, system)]):.2f}" for kind in kinds]
            lines.append(f"| {name.split(' (')[0]} | {system} | {' | '.join(cells)} |")
    note = ROOT / "bench" / "scaling.md"
    if note.exists():
        lines += ["", note.read_text().strip()]
    return lines


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory} memory, Linux {platform.release()}"


def previous_results():
    """From the BENCHMARKS.md this run replaces: each registry row's ratio and each
    target's result, so a regression shows beside the new figure."""
    ratios, targets = {}, {}
    path = ROOT / "BENCHMARKS.md"
    if not path.exists():
        return ratios, targets
    section = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 2 or set(cells[1]) <= set("-: "):
            continue
        if section == "Registry vs Distribution":
            ratio = re.match(r"([\d.]+)×", cells[3]) if len(cells) > 3 else None
            if ratio:
                ratios[cells[0]] = float(ratio.group(1))
        elif section == "Targets" and cells[0] != "target":
            targets[cells[0]] = cells[1]
    return ratios, targets


def console_section(sizes, timings):
    """The console's size and speed, as BENCHMARKS.md's Console section; and its bytes on the wire."""
    lines = ["## Console", "", "| file | raw (bytes) | gzip -9 (bytes) | brotli, as served (bytes) |", "| --- | ---: | ---: | ---: |"]
    for kind, raw, gz, br in sizes:
        lines.append(f"| {kind} | {raw:,} | {gz:,} | {br:,} |" if br else f"| {kind} | {raw:,} | {gz:,} | — |")
    lines += [f"| **total** | {sum(s[1] for s in sizes):,} | {sum(s[2] for s in sizes):,} |"
              f" {sum(s[3] or 0 for s in sizes):,} |", ""]
    wire = timings["wire"]
    on_the_wire = sum(w[1] for w in wire)
    lines += ["First load in headless Chromium (empty cache), as `PerformanceResourceTiming` counts it:", "",
              "| resource | on the wire (bytes) | body as sent (bytes) | decoded (bytes) |", "| --- | ---: | ---: | ---: |"]
    for name, transfer, encoded, decoded in wire:
        lines.append(f"| {name} | {transfer:,} | {encoded:,} | {decoded:,} |")
    lines += [f"| **total** | **{on_the_wire:,}** ({on_the_wire / 1000:.0f} KB) | {sum(w[2] for w in wire):,} |"
              f" {sum(w[3] for w in wire):,} |", ""]
    repo_nav, repo_render = timings["repositories"]
    img_nav, img_render = timings["images"]
    lines += [
        "| headless Chromium | navigation → rendered (ms) | data arrived → rendered (ms) |",
        "| --- | ---: | ---: |",
        f"| repository list, 1,000 repositories | {repo_nav:.0f} | {repo_render:.0f} |",
        f"| images tab, first 1,000 of 10,000 images (paged) | {img_nav:.0f} | {img_render:.0f} |",
        "",
        f"Longest main-thread task while scrolling the images tab: **{timings['longest_task_while_scrolling']:.0f} ms**"
        " (0 means no task over 50 ms).",
        "",
    ]
    return lines, on_the_wire, repo_render


def main():
    started = time.time()
    if os.environ.get("BENCH_ONLY") == "scale":
        with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
            print("\n".join(scale_section(*scale_rows(pathlib.Path(tmp)))))
        return
    if os.environ.get("BENCH_ONLY") == "console":
        with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
            (pathlib.Path(tmp) / "console").mkdir()
            print("\n".join(console_section(*console_rows(pathlib.Path(tmp)))[0]))
        return
    load_before = load_average()
    previous_ratios, previous_targets = previous_results()
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        for sub in ["berth", "ecr", "console"]:
            (tmp / sub).mkdir()
        disk = disk_ceiling(tmp)
        registry, ceilings, shares, memory = registry_rows(tmp)
        ecr, ecr_compiled = ecr_rows(tmp)
        gc = gc_rows(tmp)
        lifecycle = lifecycle_rows(tmp)
        sizes, timings = console_rows(tmp)
        scale = scale_section(*scale_rows(tmp))
    load_after = load_average()
    median = lambda name, system="berth": statistics.median(registry[name][system])
    ceiling, nginx_rps = statistics.median(ceilings["sha256"]), statistics.median(ceilings["nginx"])
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `cargo xtask bench` on {datetime.date.today().isoformat()}: {machine()}."
        f" Load average (1 min) {load_before:.1f} when the run began, {load_after:.1f} when it ended"
        " (other work on the same cores makes every figure noisier).",
        f"Each registry row is the median of {ROUNDS} alternating rounds (Berth, then Distribution, on loopback, same disk).",
        "Berth: release build, auth on (Basic token, every request checked against the repository policy),"
        " SQLite metadata. Distribution: Debian's `docker-registry` 2.8, filesystem storage, no auth.",
        "",
        f"Ceilings of this machine, measured in every round of the same run (medians here; each round's figure"
        f" is compared with its own round's ceiling):",
        f"single-core SHA-256 (`openssl dgst -sha256`, SHA extensions) **{ceiling:.0f} MB/s**;"
        f" a durable write (`dd bs=1M count=512 conv=fsync`) **{disk:.0f} MB/s**;"
        f" nginx (nginx-light, 2 workers, access log off) serving the same manifest bytes as a static file"
        f" to the same `wrk -t2 -c16` **{nginx_rps:,.0f} req/s**.",
        "",
        "## Registry vs Distribution",
        "",
        "| workload | Berth | Distribution | Berth / Distribution | previous run |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    ratios = {}
    for name, by_system in registry.items():
        b, d = statistics.median(by_system["berth"]), statistics.median(by_system["distribution"])
        lower_is_better = "(ms" in name
        ratio = d / b if lower_is_better else b / d
        ratios[name] = ratio
        before = f"{previous_ratios[name]:.2f}×" if name in previous_ratios else "—"
        lines.append(f"| {name} | {b:,.1f} | {d:,.1f} | {ratio:.2f}× | {before} |")
    lines += ["", "Ratios are Berth's advantage: above 1.0× Berth is faster (for latencies, Distribution's time / Berth's)."
              " The Python client reads and writes through its own buffers; the compiled client (`xtask bench-client`)"
              " sends files with sendfile and reads into one reused buffer, so the server is what bounds it.", ""]
    upload_client_bound = median(UPLOAD) / ceiling
    upload_server_bound = statistics.median(shares["upload"])
    manifest_share = statistics.median(shares["manifest"])
    lines += [f"Berth's 512 MiB upload runs at **{upload_server_bound:.0%}** of the SHA-256 ceiling from the compiled client"
              f" (server-bound) and **{upload_client_bound:.0%}** from the Python client (client-bound);"
              f" **{median(UPLOAD_COMPILED) / disk:.0%}** of the disk's durable-write ceiling."
              f" Its manifest GETs run at **{manifest_share:.0%}** of nginx's static-file rate.", ""]
    lines += ["## ECR API (Berth)", "", "| call | client | requests/s | p50 (ms) | p99 (ms) |", "| --- | --- | ---: | ---: | ---: |"]
    for label, rps, p50, p99 in ecr:
        lines.append(f"| {label} | boto3, one after another | {rps:,.0f} | {p50:.1f} | {p99:.1f} |")
    for label, rps, p50, p99 in ecr_compiled:
        lines.append(f"| {label} | compiled, 4 connections | {rps:,.0f} | {p50:.1f} | {p99:.1f} |")
    lines += ["", "boto3 adds its own signing and parsing to every call: its figures are what a Python client sees."
              " The compiled client signs each call with SigV4 as well, on 4 keep-alive connections: its figures are"
              " what the server costs.", ""]
    lines += ["## Memory (Berth)", "", "| while | resident (MiB) |", "| --- | ---: |",
              f"| idle, after start | {memory['idle']:.1f} |",
              f"| serving manifest GETs to `wrk -t2 -c16` (peak) | {memory['manifest GETs']:.1f} |",
              f"| taking one 1 GiB blob from the compiled client (peak) | {memory['1 GiB upload']:.1f} |", ""]
    lines += gc_lines(gc)
    lines += lifecycle_lines(lifecycle)
    console, on_the_wire, repo_render = console_section(sizes, timings)
    lines += console
    targets = []
    for name, ratio in ratios.items():
        goal = 5.0 if name == MANIFEST_GET else 1.0
        target = f"≥ {goal:.1f}× Distribution: {name}"
        if target not in previous_targets and name in previous_ratios:
            previous_targets[target] = f"{previous_ratios[name]:.2f}×"
        targets.append((target, f"{ratio:.2f}×", ratio >= goal))
    targets += [
        ("manifest GET by tag ≥ 25 % of nginx's static-file rate", f"{manifest_share:.0%}", manifest_share >= 0.25),
        ("upload ≥ 70 % of the SHA-256 ceiling (compiled client, server-bound)", f"{upload_server_bound:.0%}",
         upload_server_bound >= 0.7),
        ("console first load ≤ 300 KB on the wire", f"{on_the_wire / 1000:.0f} KB", on_the_wire <= 300_000),
        ("resident memory ≤ 100 MiB during a 1 GiB upload", f"{memory['1 GiB upload']:.0f} MiB",
         memory["1 GiB upload"] <= 100),
        ("1,000 repositories rendered ≤ 150 ms after the data arrives", f"{repo_render:.0f} ms", repo_render <= 150),
        ("no main-thread task over 50 ms while scrolling", f"{timings['longest_task_while_scrolling']:.0f} ms",
         timings["longest_task_while_scrolling"] <= 50),
    ]
    lines += ["## Targets", "", "| target | result | previous run |", "| --- | --- | --- |"]
    for target, value, met in targets:
        lines.append(f"| {target} | {value} {'met' if met else '**missed**'} | {previous_targets.get(target, '—')} |")
    lines += [""] + scale
    analysis = ROOT / "bench" / "analysis.md"
    if analysis.exists():
        lines += ["", analysis.read_text().strip()]
    lines += ["", f"_The run took {time.time() - started:.0f} s._", ""]
    text = "\n".join(lines)
    (ROOT / "BENCHMARKS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["gc"]:
        # One section alone, printed, for working on it: BENCHMARKS.md is left as it is.
        with tempfile.TemporaryDirectory(prefix="berth-bench-") as scratch:
            print("\n".join(gc_lines(gc_rows(pathlib.Path(scratch)))))
    elif sys.argv[1:] == ["lifecycle"]:
        # One section alone, printed, for working on it: BENCHMARKS.md is left as it is.
        with tempfile.TemporaryDirectory(prefix="berth-bench-") as scratch:
            print("\n".join(lifecycle_lines(lifecycle_rows(pathlib.Path(scratch)))))
    else:
        main()
