"""Scale-out for end-to-end tests: PostgreSQL and S3 (moto) services, registry
processes that share them, and nginx in front (deploy/nginx.conf, as shipped).

The services are the ones `cargo xtask test` started (BERTH_TEST_DATABASE_URL,
BERTH_TEST_S3); a file run on its own starts them with `cargo xtask services`."""

import glob
import hashlib
import os
import pathlib
import re
import secrets
import subprocess
import time

from conftest import REGION, ROOT, REGISTRY_BIN, Endpoint, free_port, random_key, wait_for_port

DATABASE_ENV = "BERTH_TEST_DATABASE_URL"
S3_ENV = "BERTH_TEST_S3"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
# moto takes any keys; these keep the test's own AWS environment out of S3 calls.
S3_KEYS = {"BERTH_S3_ACCESS_KEY_ID": "berth-test", "BERTH_S3_SECRET_ACCESS_KEY": "berth-test-secret"}


class Services:
    """PostgreSQL and S3 endpoints, from the environment or started here."""

    def __init__(self, tmp: pathlib.Path):
        self.proc = None
        if not (os.environ.get(DATABASE_ENV) and os.environ.get(S3_ENV)):
            env_file = tmp / "services.env"
            self.log = open(tmp / "services.log", "wb")
            self.proc = subprocess.Popen(["cargo", "xtask", "services", "--skip-install", "--env-file", str(env_file)],
                                         cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 900
            while not env_file.exists():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cargo xtask services did not start: see {tmp / 'services.log'}")
                time.sleep(0.2)
            for line in env_file.read_text().splitlines():
                name, value = line.removeprefix("export ").split("=", 1)
                os.environ[name] = value
        self.database_server = os.environ[DATABASE_ENV]
        self.s3_endpoint, self.bucket = os.environ[S3_ENV].rsplit("/", 1)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.log.close()
            os.environ.pop(DATABASE_ENV, None)
            os.environ.pop(S3_ENV, None)

    def new_database(self):
        """A fresh database for one test."""
        name = "e2e_" + secrets.token_hex(6)
        psql(f"{self.database_server}/postgres", f'CREATE DATABASE "{name}"')
        return f"{self.database_server}/{name}"

    def new_blob_store(self):
        """A fresh prefix in the shared bucket for one test: (s3:// URL, prefix)."""
        prefix = "e2e-" + secrets.token_hex(6)
        return f"s3://{self.bucket}/{prefix}?endpoint={self.s3_endpoint}&region={REGION}", prefix

    def s3(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name=REGION,
                            aws_access_key_id="berth-test", aws_secret_access_key="berth-test-secret")


def psql_binary():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return found[-1] if found else "psql"


def psql(url, sql):
    """Runs SQL and returns the rows, each a list of column strings."""
    result = subprocess.run([psql_binary(), url, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines() if line]


class Process:
    """One `berth-registry serve` on PostgreSQL + S3, without a data dir."""

    def __init__(self, tmp, name, database, blob_store, public_url, admin, extra_args=()):
        self.tmp, self.name = tmp, name
        self.database, self.blob_store, self.public_url, self.admin = database, blob_store, public_url, admin
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"{name}.log"
        self.proc = None
        self.start()

    def start(self):
        env = dict(os.environ, **S3_KEYS)
        env["BERTH_ADMIN_ACCESS_KEY_ID"], env["BERTH_ADMIN_SECRET_ACCESS_KEY"] = self.admin
        args = [REGISTRY_BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--database", self.database,
                "--blob-store", self.blob_store, "--public-url", self.public_url, "--region", REGION, *self.extra_args]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_for_port(self.port, self.proc, what=f"berth-registry {self.name}")

    def kill(self):
        """SIGKILL: no shutdown, no cleanup, as a crash."""
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def output(self):
        return self.log_path.read_text(errors="replace")


def nginx_config(listen_port, upstreams, backup_last=False):
    """deploy/nginx.conf with its example upstreams and port replaced."""
    text = NGINX_CONF.read_text()
    servers = re.findall(r"^\s*server \d+\.\d+\.\d+\.\d+:\d+[^;]*;\n", text, flags=re.M)
    assert len(servers) == 2, "deploy/nginx.conf lists two example upstream servers"
    lines = []
    for i, port in enumerate(upstreams):
        backup = " backup" if backup_last and i == len(upstreams) - 1 else ""
        lines.append(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s{backup};\n")
    text = text.replace(servers[0], "".join(lines)).replace(servers[1], "")
    assert "    listen 80;\n" in text
    return text.replace("    listen 80;\n", f"    listen 127.0.0.1:{listen_port};\n")


class Nginx:
    """nginx with deploy/nginx.conf in front of the given ports."""

    def __init__(self, tmp, upstreams, backup_last=False, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        prefix = tmp / "nginx"
        prefix.mkdir(exist_ok=True)
        site = nginx_config(self.port, upstreams, backup_last)
        # Running as root, workers would drop to `nobody`, which cannot enter pytest's 0700 temp dirs.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(f"""{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{site}
}}
""")
        self.prefix = prefix
        self.proc = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=open(prefix / "stderr.log", "wb"))
        wait_for_port(self.port, self.proc, what="nginx")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


class Cluster(Endpoint):
    """N registry processes on one database and bucket prefix, behind nginx: the
    endpoint clients use is nginx's."""

    def __init__(self, tmp, services, processes=2, extra_args=(), backup_last=False, database=None, blob_store=None,
                 admin=None):
        self.tmp = tmp
        self.services = services
        self.region = REGION
        self.database = database or services.new_database()
        if blob_store:
            self.blob_store, self.prefix = blob_store
        else:
            self.blob_store, self.prefix = services.new_blob_store()
        self.access_key_id, self.secret_access_key = admin or random_key()
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.processes = []
        self.nginx = None
        for i in range(processes):
            self.processes.append(Process(tmp, f"registry-{i}", self.database, self.blob_store, self.url,
                                          (self.access_key_id, self.secret_access_key), extra_args))
        self.nginx = Nginx(tmp, [p.port for p in self.processes], backup_last=backup_last, port=self.port)

    def stop(self):
        if self.nginx:
            self.nginx.stop()
        for process in self.processes:
            process.stop()

    def sql(self, query):
        return psql(self.database, query)

    def objects(self, under):
        """Every object key under the cluster's prefix + `under`, with its size."""
        s3 = self.services.s3()
        found = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.services.bucket, Prefix=f"{self.prefix}/{under}"):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["Size"]
        return found

    def object_bytes(self, key):
        return self.services.s3().get_object(Bucket=self.services.bucket, Key=key)["Body"].read()

    def multipart_uploads(self):
        s3 = self.services.s3()
        return [u["Key"] for u in s3.list_multipart_uploads(Bucket=self.services.bucket, Prefix=self.prefix).get("Uploads", [])]

    def assert_consistent(self):
        """Nothing dangles: every blob the database knows is stored and complete;
        every object under blobs/ is a complete blob (its name is its content's
        hash); every manifest's tags and every tag's manifest exist; whatever is
        left of unfinished uploads belongs to an upload session the registry
        still knows (upload expiry removes those)."""
        blobs = dict((d, int(s)) for d, s in self.sql("SELECT digest, size FROM blobs"))
        stored = self.objects("blobs/sha256/")
        for digest, size in blobs.items():
            key = f"{self.prefix}/blobs/sha256/{digest[7:]}"
            assert stored.get(key) == size, f"blob {digest} ({size} bytes) is not stored whole: {stored.get(key)}"
        for key in stored:
            assert hashlib.sha256(self.object_bytes(key)).hexdigest() == key.rsplit("/", 1)[1], f"{key} is not its digest"
        dangling = self.sql("SELECT t.tag FROM tags t LEFT JOIN manifests m ON m.repository_id = t.repository_id "
                            "AND m.digest = t.digest WHERE m.digest IS NULL")
        assert dangling == [], dangling
        unlinked = self.sql("SELECT rb.digest FROM repository_blobs rb LEFT JOIN blobs b ON b.digest = rb.digest "
                            "WHERE b.digest IS NULL")
        assert unlinked == [], unlinked
        sessions = {row[0] for row in self.sql("SELECT id FROM uploads")}
        leftovers = list(self.objects("uploads/")) + self.multipart_uploads()
        for key in leftovers:
            if key.startswith(f"{self.prefix}/uploads/"):
                session = key[len(f"{self.prefix}/uploads/"):].split("/", 1)[0]
                assert session in sessions, f"{key} belongs to no upload session"
            else:
                raise AssertionError(f"an unfinished multipart upload outside uploads/: {key}")
