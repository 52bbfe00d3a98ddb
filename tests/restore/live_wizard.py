"""Real server processes for the gate tests (``sitepack wizard``, ``sitepack serve``): started
on a free port, their terminal lines read (URL, fingerprint, one-time login URL), stopped by
their PID (``harness.webservers.LoopbackServer.stop``)."""

from __future__ import annotations

import hashlib
import http.client
import http.cookies
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

from harness.webservers import LoopbackServer


class PrintingServer(LoopbackServer):
    """A server command that picks its own port (``--port 0``) and prints its URL."""

    def __init__(self, command: list[str], url_pattern: str, env: dict | None = None):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True,
                                        env=env or dict(os.environ), start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.printed_url = self.wait_for(url_pattern).group(1)
        parts = urllib.parse.urlsplit(self.printed_url)
        self.host, self.port = parts.hostname, parts.port

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"the server never printed {pattern!r}; it printed: {self.lines}")


class WizardProcess(PrintingServer):
    def __init__(self, site: Path, *args: str, env: dict | None = None):
        super().__init__(["sitepack", "wizard", str(site), "--port", "0", *args],
                         r"restore wizard for .* at (\S+)", env)


class Browser:
    """One HTTP(S) client with its own cookies, bound to ``source`` (a 127.x address)."""

    def __init__(self, host: str, port: int, *, source: str = "127.0.0.1", pin: str | None = None,
                 timeout: float = 30.0):
        """``pin``: HTTPS, trusting only a certificate with this SHA-256 fingerprint (AB:CD:…)."""
        self.host, self.port, self.source, self.pin, self.timeout = host, port, source, pin, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, form: dict | None = None, json_body: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        if self.pin is not None:
            # No CA vouches for a self-signed certificate: the fingerprint is the trust.
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            conn = http.client.HTTPSConnection(self.host, self.port, source_address=(self.source, 0),
                                               context=context, timeout=self.timeout)
            conn.connect()
            served = hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest().upper()
            if ":".join(served[i:i + 2] for i in range(0, 64, 2)) != self.pin:
                conn.close()
                raise ssl.SSLError(f"the server's certificate is not the pinned one ({self.pin})")
        else:
            conn = http.client.HTTPConnection(self.host, self.port, source_address=(self.source, 0),
                                              timeout=self.timeout)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json_body
            sent["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=sent)
            reply = conn.getresponse()
            text = reply.read().decode("utf-8", "replace")
            for value in reply.headers.get_all("Set-Cookie") or []:
                cookie = http.cookies.SimpleCookie(value)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
            return reply.status, {k.lower(): v for k, v in reply.getheaders()}, text
        finally:
            conn.close()

    def csrf(self, path: str = "/login") -> str:
        status, _, text = self.request("GET", path)
        match = re.search(r'name="csrf[-_]token" (?:value|content)="([^"]+)"', text)
        assert match, f"GET {path} answered {status} without a CSRF token: {text[:300]}"
        return match.group(1)
