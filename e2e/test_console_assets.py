"""The console's files as browsers fetch them, from `serve --console` and from
`berth-registry console` (what `cargo xtask dev` runs): the brotli or gzip copy made
at build time when the request takes it (byte for byte the file once decompressed),
`Vary: Accept-Encoding`, hashed names cached for a year, index.html and deep links
revalidated; never framed by another site."""

import gzip
import http.client
import subprocess
import time

import brotli
import pytest

from conftest import CONSOLE_DIST, REGISTRY_BIN, free_port, wait_for_port

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(params=["serve --console", "console"])
def console_url(request, tmp_path):
    assert (CONSOLE_DIST / "index.html").is_file(), f"build the console first: no {CONSOLE_DIST}/index.html"
    if request.param == "console":
        port = free_port()
        proc = subprocess.Popen([REGISTRY_BIN, "console", "--listen", f"127.0.0.1:{port}", "--dir", str(CONSOLE_DIST)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc, what="berth-registry console")
            yield "127.0.0.1", port
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    else:
        registry = request.getfixturevalue("console_registry")
        yield "127.0.0.1", registry.port


def fetch(address, path, accept_encoding=None):
    conn = http.client.HTTPConnection(*address, timeout=30)
    try:
        headers = {"Accept-Encoding": accept_encoding} if accept_encoding else {"Accept-Encoding": "identity"}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        headers = {}
        for name, value in response.getheaders():  # a header sent twice counts once, both values
            headers[name.lower()] = f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
        return response.status, headers, response.read()
    finally:
        conn.close()


def decoded(headers, body):
    encoding = headers.get("content-encoding")
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


def assets():
    found = [p for p in CONSOLE_DIST.iterdir() if p.suffix in (".wasm", ".js", ".css")]
    assert {p.suffix for p in found} == {".wasm", ".js", ".css"}, found
    return found


def test_every_file_comes_compressed_as_asked_and_decompresses_to_itself(console_url):
    for path in assets() + [CONSOLE_DIST / "index.html"]:
        url = "/" + path.name
        raw = path.read_bytes()
        for asked, expected in [("br", "br"), ("gzip", "gzip"), ("gzip, deflate, br, zstd", "br"), (None, None)]:
            status, headers, body = fetch(console_url, url, asked)
            assert status == 200, (url, asked)
            assert headers.get("content-encoding") == expected, (url, asked, headers)
            assert "accept-encoding" in headers.get("vary", "").lower(), (url, headers)
            assert decoded(headers, body) == raw, (url, asked)
            if expected:
                assert len(body) < len(raw), (url, asked)


def test_hashed_files_are_cached_for_a_year_and_the_page_is_revalidated(console_url):
    for path in assets():
        status, headers, _ = fetch(console_url, "/" + path.name, "br")
        assert status == 200 and headers["cache-control"] == IMMUTABLE, (path.name, headers)
        assert headers["content-type"] != "text/html"
    index = (CONSOLE_DIST / "index.html").read_bytes()
    # The page names the hashed files: every load asks again. So do deep links, even
    # one that looks like a hashed name.
    for url in ["/", "/repositories", "/repositories/app-0123456789abcdef"]:
        status, headers, body = fetch(console_url, url, "gzip")
        assert status == 200 and headers["cache-control"] == "no-cache", (url, headers)
        assert headers["content-type"].startswith("text/html") and decoded(headers, body) == index, url


def test_no_other_site_may_frame_the_console(console_url):
    for url in ["/", "/repositories/team/app?tab=images", "/" + assets()[0].name]:
        status, headers, _ = fetch(console_url, url, "br")
        assert status == 200, url
        assert headers.get("x-frame-options") == "DENY", (url, headers)
        assert headers.get("content-security-policy") == "frame-ancestors 'none'", (url, headers)
        assert headers.get("x-content-type-options") == "nosniff", (url, headers)


# Issue 15's budget for a first visit, counted as the browser counts it.
FIRST_LOAD_BUDGET = 300_000


def test_a_first_load_transfers_at_most_300_kb_on_the_wire(console_registry, browser):
    """Headless Chromium with an empty cache: the page and every file it loads, as
    `PerformanceResourceTiming.transferSize` counts them (compressed bodies as sent,
    with their response headers), once the app has replaced the boot shell."""
    browser.get(console_registry.url + "/")
    deadline = time.monotonic() + 60
    while True:
        nav, files, booted = browser.execute_script("""
            const nav = performance.getEntriesByType('navigation').map(e => [e.name, e.transferSize, e.responseEnd]);
            const files = performance.getEntriesByType('resource').map(e => [e.name, e.transferSize, e.responseEnd]);
            return [nav, files, document.getElementById('boot') === null];""")
        loaded = nav and files and all(end > 0 for _, _, end in nav + files)
        if booted and loaded and any(name.endswith(".wasm") for name, _, _ in files):
            break
        assert time.monotonic() < deadline, ("the console never finished loading", nav, files, booted)
        time.sleep(0.1)
    sizes = {name.rsplit("/", 1)[-1] or "/": size for name, size, _ in nav + files}
    assert all(size > 0 for size in sizes.values()), f"served from a cache, not the wire: {sizes}"
    total = sum(sizes.values())
    assert total <= FIRST_LOAD_BUDGET, f"{total:,} bytes on the wire, over {FIRST_LOAD_BUDGET:,}: {sizes}"
