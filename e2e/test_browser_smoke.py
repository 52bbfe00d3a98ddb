"""Debian's Chromium starts under Playwright and renders a page served on 127.0.0.1."""

import http.server
import threading


def test_chromium_renders_a_local_page(page, tmp_path, screenshot):
    (tmp_path / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>sitepack smoke</title><h1 id=h>Héllo 🌍</h1>", encoding="utf-8")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
        assert page.title() == "sitepack smoke"
        assert page.locator("#h").inner_text() == "Héllo 🌍"
        screenshot("smoke")
    finally:
        server.shutdown()
