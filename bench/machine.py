"""What the machine itself can do and is doing, for `cargo xtask bench`: nginx serving
the same manifest bytes as a static file (the ceiling for manifest GETs), a
process's resident memory, and how busy the machine was."""

import os
import pathlib
import subprocess
import threading
import time

from conftest import free_port, wait_for_port


class StaticNginx:
    """Debian's nginx-light serving `files` ({url path: bytes}) from a temporary root:
    2 workers, access log off, as fast as a static file gets on this machine."""

    def __init__(self, tmp: pathlib.Path, files: dict, content_type: str):
        root = tmp / "nginx-root"
        for path, data in files.items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "nginx.conf"
        # `user root`: the bench's temporary dirs are private to root (this runs as root).
        config.write_text(f"""user root;
worker_processes 2;
daemon off;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'nginx-error.log'};
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp / 'nginx-body'};
  proxy_temp_path {tmp / 'nginx-proxy'};
  fastcgi_temp_path {tmp / 'nginx-fastcgi'};
  uwsgi_temp_path {tmp / 'nginx-uwsgi'};
  scgi_temp_path {tmp / 'nginx-scgi'};
  server {{
    listen 127.0.0.1:{self.port};
    root {root};
    default_type {content_type};
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, what="nginx")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def rss_mib(pid):
    """Resident memory of a process now, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples a process's resident memory every 10 ms while in a `with` block."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except OSError:
                return
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def load_average():
    """The 1-minute load average: how many runnable tasks the 2 cores had."""
    return os.getloadavg()[0]
