"""`cargo xtask dev`, the README's first command: a console on one port talking
cross-origin to a registry on another, stopped cleanly by Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import threading
import time

from selenium.webdriver.support import expected_conditions as EC

from conftest import ROOT, SCREENSHOTS, free_port
from test_console import by_testid, wait


class Output:
    """Collects a child's output on a thread so waiting never blocks on a pipe."""

    def __init__(self, stream):
        self.text = ""
        self._lock = threading.Lock()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in iter(stream.readline, ""):
            with self._lock:
                self.text += line

    def wait_for(self, pattern, proc, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                match = re.search(pattern, self.text)
            if match:
                return match
            if proc.poll() is not None:
                raise AssertionError(f"xtask dev exited ({proc.returncode}):\n{self.text[-4000:]}")
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {pattern!r}:\n{self.text[-4000:]}")


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_xtask_dev_serves_the_console_against_the_registry(tmp_path, browser):
    registry_port, console_port = free_port(), free_port()
    proc = subprocess.Popen(
        ["cargo", "xtask", "dev", "--registry-port", str(registry_port), "--console-port", str(console_port),
         "--data", str(tmp_path / "data")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    output = Output(proc.stdout)
    try:
        output.wait_for(r"Berth is running", proc, timeout=1500)
        key = output.wait_for(r"Admin access key id:\s+(\S+)", proc, 5).group(1)
        secret = output.wait_for(r"Admin secret access key:\s+(\S+)", proc, 5).group(1)
        assert f"http://127.0.0.1:{console_port}" in output.text
        assert f"http://127.0.0.1:{registry_port}" in output.text

        import boto3

        boto3.client("ecr", endpoint_url=f"http://127.0.0.1:{registry_port}", region_name="us-east-1",
                     aws_access_key_id=key, aws_secret_access_key=secret).create_repository(repositoryName="my-nginx-repository")

        browser.get(f"http://127.0.0.1:{console_port}/")
        wait(browser, EC.url_contains("/sign-in"), timeout=60)
        endpoint = wait(browser, EC.element_to_be_clickable(by_testid("endpoint")))
        endpoint.clear()
        endpoint.send_keys(f"http://127.0.0.1:{registry_port}")
        browser.find_element(*by_testid("access-key-id")).send_keys(key)
        browser.find_element(*by_testid("secret-access-key")).send_keys(secret)
        browser.find_element(*by_testid("sign-in")).click()
        table = wait(browser, EC.visibility_of_element_located(by_testid("repository-table")))
        assert "my-nginx-repository" in table.text
        assert f"127.0.0.1:{registry_port}/my-nginx-repository" in table.text
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / "dev-console-repositories.png"))
        assert (SCREENSHOTS / "dev-console-repositories.png").stat().st_size > 10_000

        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 0, output.text[-4000:]
        deadline = time.monotonic() + 10
        while (port_open(registry_port) or port_open(console_port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not port_open(registry_port), "the registry is still running"
        assert not port_open(console_port), "trunk serve is still running"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
