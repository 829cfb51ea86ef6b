"""`cargo xtask bench`: Berth against the reference Distribution registry on the same
machine in the same run, the ECR API, the console's size and speed, and scale-out
(PostgreSQL + S3 behind nginx, 1 and 2 processes, against the embedded default).
Writes BENCHMARKS.md. Everything runs on loopback and stops by itself.
`BENCH_ONLY=scale` runs only the scale-out section and prints it."""

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


def push_tags(client, name, count):
    """`count` distinct manifests, each with its own tag, sharing one config and layer."""
    config_bytes, layer_bytes = b'{"architecture":"amd64","os":"linux"}', b"a layer"
    config, layer = digest_of(config_bytes), digest_of(layer_bytes)
    upload(client, name, config_bytes, config)
    upload(client, name, layer_bytes, layer)
    def manifest(i):
        return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 37},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 7}],
                           "annotations": {"n": str(i)}}).encode()
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
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", *headers,
                          f"http://{client.host}:{client.port}{path}"], capture_output=True, text=True, timeout=120).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert not non2xx, out
    return rps, pct(50), pct(99)


def sha256_ceiling():
    with tempfile.NamedTemporaryFile() as f:
        f.write(os.urandom(256 * MIB))
        f.flush()
        subprocess.run(["openssl", "dgst", "-sha256", f.name], capture_output=True)  # warm the page cache
        seconds = min(timed(lambda: subprocess.run(["openssl", "dgst", "-sha256", f.name], capture_output=True, check=True)) for _ in range(3))
    return 256 / seconds


def disk_ceiling(tmp):
    """Writing 512 MiB and fsync'ing it, as a verified upload must before it is committed."""
    path = tmp / "disk-probe"
    seconds = min(timed(lambda: subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=512", "conv=fsync"],
                                               capture_output=True, check=True)) for _ in range(2))
    path.unlink()
    return 512 * MIB / 1e6 / seconds


def registry_rows(tmp):
    log("registry vs Distribution …")
    big = os.urandom(512 * MIB)
    big_digest = digest_of(big)
    small = [os.urandom(MIB) for _ in range(200)]
    small_digests = [digest_of(b) for b in small]
    results = {}
    def record(name, system, value):
        results.setdefault(name, {}).setdefault(system, []).append(value)

    berth = Registry(tmp / "berth")
    distribution = Distribution(tmp)
    try:
        berth.ecr().create_repository(repositoryName="bench")
        clients = {"berth": OciClient.for_registry(berth), "distribution": distribution.client()}
        for round_index in range(ROUNDS):
            for system, client in clients.items():
                name = "bench"
                # Each round needs fresh content: a blob that exists is not re-uploaded by real clients.
                suffix = os.urandom(16)
                data = big[:-16] + suffix
                digest = digest_of(data)
                record("Blob upload 1 × 512 MiB (MB/s)", system, 512 * MIB / 1e6 / timed(lambda: upload(client, name, data, digest)))
                record("Blob download 1 × 512 MiB (MB/s)", system, 512 * MIB / 1e6 / timed(lambda: download(client, name, digest, len(data))))
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
        for system, client in clients.items():
            if system == "berth":
                berth.ecr().create_repository(repositoryName="tags")
            push_tags(client, "tags", 10_000)
            log(f"  {system}: 10,000 tags pushed")
        for round_index in range(ROUNDS):
            for system, client in clients.items():
                rps, p50, p99 = wrk(client, "/v2/tags/manifests/t00042")
                record("Manifest GET by tag, 16 clients (req/s)", system, rps)
                record("Manifest GET by tag p50 (ms)", system, p50)
                record("Manifest GET by tag p99 (ms)", system, p99)
                latencies = []
                for _ in range(10):
                    start = time.perf_counter()
                    r = client.request("GET", "/v2/tags/tags/list?n=10000")
                    latencies.append((time.perf_counter() - start) * 1000)
                    assert r.status == 200 and len(r.json()["tags"]) == 10_000
                record("tags/list of 10,000 tags (ms, median)", system, statistics.median(latencies))
            log(f"  round {round_index + 1}: manifests and tags done")
    finally:
        berth.stop()
        distribution.stop()
    return results


def ecr_rows(tmp):
    log("ECR API …")
    registry = Registry(tmp / "ecr")
    rows = []
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
    finally:
        registry.stop()
    return rows


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
    sizes = []
    for pattern in ["*.wasm", "*.js", "*.css"]:
        for path in sorted(CONSOLE_DIST.glob(pattern)):
            raw = path.read_bytes()
            sizes.append((path.suffix.lstrip("."), len(raw), len(gzip.compress(raw, 9))))
    timings = {}
    registry = Registry(tmp / "console", console=True)
    browser = make_browser(tmp)
    try:
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


def main():
    started = time.time()
    if os.environ.get("BENCH_ONLY") == "scale":
        with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
            print("\n".join(scale_section(*scale_rows(pathlib.Path(tmp)))))
        return
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        for sub in ["berth", "ecr", "console"]:
            (tmp / sub).mkdir()
        scale = scale_section(*scale_rows(tmp))
        ceiling = sha256_ceiling()
        disk = disk_ceiling(tmp)
        registry = registry_rows(tmp)
        ecr = ecr_rows(tmp)
        gc = gc_rows(tmp)
        lifecycle = lifecycle_rows(tmp)
        sizes, timings = console_rows(tmp)
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `cargo xtask bench` on {datetime.date.today().isoformat()}: {machine()}.",
        f"Each registry row is the median of {ROUNDS} alternating rounds (Berth, then Distribution, on loopback, same disk).",
        "Berth: release build, auth on (Basic token, every request checked against the repository policy),"
        " SQLite metadata. Distribution: Debian's `docker-registry` 2.8, filesystem storage, no auth.",
        "",
        f"Single-core SHA-256 ceiling (`openssl dgst -sha256`, SHA extensions): **{ceiling:.0f} MB/s**."
        f" Disk ceiling for a durable write (`dd bs=1M count=512 conv=fsync`): **{disk:.0f} MB/s**.",
        "",
        "## Registry vs Distribution",
        "",
        "| workload | Berth | Distribution | Berth / Distribution |",
        "| --- | ---: | ---: | ---: |",
    ]
    ratios = {}
    for name, by_system in registry.items():
        b, d = statistics.median(by_system["berth"]), statistics.median(by_system["distribution"])
        lower_is_better = "(ms" in name
        ratio = d / b if lower_is_better else b / d
        ratios[name] = ratio
        lines.append(f"| {name} | {b:,.1f} | {d:,.1f} | {ratio:.2f}× |")
    lines += ["", "Ratios are Berth's advantage: above 1.0× Berth is faster (for latencies, Distribution's time / Berth's).", ""]
    upload_share = statistics.median(registry["Blob upload 1 × 512 MiB (MB/s)"]["berth"]) / ceiling
    upload_mb = statistics.median(registry["Blob upload 1 × 512 MiB (MB/s)"]["berth"])
    lines += [f"Berth's 512 MiB upload runs at **{upload_share:.0%}** of the SHA-256 ceiling"
              f" and **{upload_mb / disk:.0%}** of the disk's durable-write ceiling.", ""]
    lines += ["## ECR API (Berth, through boto3)", "", "| call | requests/s | p50 (ms) | p99 (ms) |", "| --- | ---: | ---: | ---: |"]
    for label, rps, p50, p99 in ecr:
        lines.append(f"| {label} | {rps:,.0f} | {p50:.1f} | {p99:.1f} |")
    lines += ["", "boto3 adds its own signing and parsing to every call; the numbers are what a Python client sees.", ""]
    lines += gc_lines(gc)
    lines += lifecycle_lines(lifecycle)
    lines += ["## Console", "", "| file | raw (bytes) | gzip (bytes) |", "| --- | ---: | ---: |"]
    for kind, raw, gz in sizes:
        lines.append(f"| {kind} | {raw:,} | {gz:,} |")
    total_gz = sum(gz for _, _, gz in sizes)
    lines += [f"| **total** | {sum(r for _, r, _ in sizes):,} | **{total_gz:,}** ({total_gz / 1000:.0f} KB) |", ""]
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
        "## Targets",
        "",
        "| target | result |",
        "| --- | --- |",
    ]
    for name, ratio in ratios.items():
        lines.append(f"| ≥ 1.0× Distribution: {name} | {ratio:.2f}× {'met' if ratio >= 1.0 else '**missed**'} |")
    lines.append(f"| upload ≥ 70 % of the SHA-256 ceiling | {upload_share:.0%} {'met' if upload_share >= 0.7 else '**missed**'} |")
    lines.append(f"| console ≤ 300 KB gzip | {total_gz / 1000:.0f} KB {'met' if total_gz <= 300_000 else '**missed**'} |")
    lines.append(f"| 1,000 repositories rendered ≤ 150 ms after the data arrives | {repo_render:.0f} ms {'met' if repo_render <= 150 else '**missed**'} |")
    longest = timings["longest_task_while_scrolling"]
    lines.append(f"| no main-thread task over 50 ms while scrolling | {longest:.0f} ms {'met' if longest <= 50 else '**missed**'} |")
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
