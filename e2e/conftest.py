"""Fixtures that run the real thing: a `berth-registry` process on an ephemeral
port, the AWS CLI, boto3, and headless Chromium through chromedriver."""

import json
import os
import pathlib
import secrets
import socket
import string
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(os.environ.get("BERTH_ROOT", pathlib.Path(__file__).resolve().parents[1]))
REGISTRY_BIN = os.environ.get("BERTH_REGISTRY_BIN", str(ROOT / "target" / "debug" / "berth-registry"))
CONSOLE_DIST = pathlib.Path(os.environ.get("BERTH_CONSOLE_DIST", ROOT / "target" / "console-dist"))
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "target" / "screenshots"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=30.0, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def random_key():
    alphabet = string.ascii_uppercase + "234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)), secrets.token_urlsafe(30)[:40]


class Endpoint:
    """What clients need to call a registry: its URL, region and admin key (set by
    subclasses, with `tmp` for client state), and the AWS CLI and boto3 against it."""

    def aws_env(self, key=None, secret=None):
        home = self.tmp / "home"
        home.mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update(
            HOME=str(home),
            AWS_ACCESS_KEY_ID=key or self.access_key_id,
            AWS_SECRET_ACCESS_KEY=secret or self.secret_access_key,
            AWS_CONFIG_FILE=str(home / "no-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
        )
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        return env

    def aws(self, *args, key=None, secret=None, check=True):
        """The real AWS CLI (v1) against this registry."""
        command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", self.url, "--region", self.region, "--output", "json"]
        result = subprocess.run(command, capture_output=True, text=True, env=self.aws_env(key, secret), timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def ecr(self, key=None, secret=None):
        """A boto3 ECR client for this registry."""
        import boto3

        return boto3.client(
            "ecr",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=key or self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
        )


class Registry(Endpoint):
    """A real `berth-registry serve` process with its own data dir. Every ECR API
    exchange it serves is recorded and, when the test ends, checked against AWS's
    model of the API (see shapes.py and the `wire_contract` fixture)."""

    # Every registry started during the current test, for the wire-contract check.
    started = []

    def __init__(self, tmp: pathlib.Path, console=False, preset_admin=True, extra_args=(), record_api=True,
                 beside=None):
        self.tmp = tmp
        # The recorder buffers every request body: tests of how bodies are read start without it.
        self.record_api = record_api
        # `beside`: another registry whose data dir this process shares, as a second
        # process of the same registry.
        self.data = beside.data if beside else tmp / "data"
        self.console = console
        self.preset_admin = preset_admin
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.region = REGION
        self.access_key_id, self.secret_access_key = (
            (beside.access_key_id, beside.secret_access_key) if beside else random_key())
        self.proc = None
        self.log_path = tmp / "registry.log"
        self.api_record = tmp / "api-exchanges.jsonl"
        Registry.started.append(self)
        self.start()

    def start(self):
        env = dict(os.environ)
        if self.preset_admin:
            env["BERTH_ADMIN_ACCESS_KEY_ID"] = self.access_key_id
            env["BERTH_ADMIN_SECRET_ACCESS_KEY"] = self.secret_access_key
        args = [REGISTRY_BIN, "serve", "--listen", self.host, "--data", str(self.data), "--region", self.region]
        if self.record_api:
            args += ["--record-api", str(self.api_record)]
        if self.console:
            args += ["--console", str(CONSOLE_DIST)]
        args += self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_for_port(self.port, self.proc, what="berth-registry")
        self.wait_until_serving()
        if not self.preset_admin:
            # The port listens before the data dir is set up; the file comes after.
            credentials = self.data / "admin-credentials.json"
            deadline = time.monotonic() + 30
            while not credentials.exists() and time.monotonic() < deadline and self.proc.poll() is None:
                time.sleep(0.02)
            creds = json.loads(credentials.read_text())
            self.access_key_id, self.secret_access_key = creds["accessKeyId"], creds["secretAccessKey"]

    def wait_until_serving(self, timeout=30.0):
        """The port opens before the data dir is prepared; the first answer comes after."""
        import http.client

        deadline = time.monotonic() + timeout
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                conn.request("GET", "/v2/")
                conn.getresponse().read()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)
            finally:
                conn.close()

    def stop(self, sig=None):
        if self.proc and self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def restart(self):
        self.stop()
        self.start()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def add_user(self, name):
        return json.loads(self.cli("user", "add", name).stdout)

    def cli(self, *args, check=True):
        """A `berth-registry` subcommand on this registry's data dir (while it serves)."""
        result = subprocess.run([REGISTRY_BIN, *args, "--data", str(self.data)], capture_output=True, text=True, timeout=120)
        if check:
            assert result.returncode == 0, f"berth-registry {' '.join(args)}: {result.stderr}"
        return result


@pytest.fixture(autouse=True)
def wire_contract(tmp_path):
    """After each test: every ECR API response its registries sent, and every request
    the console sent, must match AWS's model (botocore's ECR service-2.json).
    Asks for `tmp_path` so that it is torn down after this check: the recordings live
    there, and pytest removes a passing test's `tmp_path` (pytest.ini)."""
    import shapes

    Registry.started.clear()
    yield
    failures = []
    for registry in Registry.started:
        failures += shapes.check_exchanges(registry.api_record)
    Registry.started.clear()
    if failures:
        lines = []
        for failure in failures[:10]:
            exchange = failure["exchange"]
            lines.append(f"- {exchange['target']} ({exchange['status']}):")
            lines += [f"    {p}" for p in failure["problems"]]
        more = f"\n(+{len(failures) - 10} more exchanges)" if len(failures) > 10 else ""
        pytest.fail("Berth's wire format drifted from AWS's ECR model:\n" + "\n".join(lines) + more, pytrace=False)


@pytest.fixture
def registry(tmp_path):
    r = Registry(tmp_path)
    yield r
    r.stop()


@pytest.fixture
def console_registry(tmp_path):
    """A registry that also serves the release build of the console at `/`."""
    assert (CONSOLE_DIST / "index.html").is_file(), f"build the console first: no {CONSOLE_DIST}/index.html"
    r = Registry(tmp_path, console=True)
    yield r
    r.stop()


def make_browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def browser(tmp_path):
    driver = make_browser(tmp_path)
    yield driver
    driver.quit()
