"""The restored copy served by PHP's built-in server in a sandbox, and its pages checked.

The copy runs the site's own PHP, so it is fenced in: mail goes to a file in the drill's
folder (``sendmail_path``), WordPress's cron is disabled and its HTTP API blocked
(constants defined by an ``auto_prepend_file`` before the site's code runs), and PHP
cannot open URLs or sockets (``allow_url_fopen`` off, the socket and curl functions
disabled): no request leaves the machine. Errors go to a log in the drill's folder, where
fatal errors are found, not to the pages.

Pages: the home page, then the pages its menus link to (at most ``MAX_PAGES``), each
fetched once. A page fails on HTTP 5xx, a PHP fatal error, or a link or redirect to the
old site URL (the URL replacement missed it). When the live site answers, each page's
status and title are compared with the live page's (GET only).
"""

from __future__ import annotations

import dataclasses
import html
import http.client
import os
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Callable

from .loopback import free_port, stop_group, wait_listening

MAX_PAGES = 12
_TIMEOUT = 30.0
_SANDBOX = """<?php
// sitepack drill: this copy sends no mail, runs no scheduled task, reaches no other host.
if (!defined('DISABLE_WP_CRON')) { define('DISABLE_WP_CRON', true); }
if (!defined('WP_HTTP_BLOCK_EXTERNAL')) { define('WP_HTTP_BLOCK_EXTERNAL', true); }
"""
# The built-in server has no rewrite rules: what is not a file goes to the site's index.php.
_ROUTER = """<?php
$path = urldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if ($path !== '/' && file_exists($_SERVER['DOCUMENT_ROOT'] . $path)) { return false; }
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
chdir($_SERVER['DOCUMENT_ROOT']);
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
"""
_BLOCKED_FUNCTIONS = ("curl_exec,curl_multi_exec,fsockopen,pfsockopen,stream_socket_client,"
                      "socket_connect,socket_create")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_NAV = re.compile(rb"<nav\b.*?</nav>|<(?:ul|div)\b[^>]*class=\"[^\"]*menu[^\"]*\".*?</(?:ul|div)>", re.I | re.S)
_HREF = re.compile(rb"""<a\b[^>]*\bhref\s*=\s*["']([^"'#]+)""", re.I)
_SKIP = re.compile(r"/(wp-admin|wp-login\.php|administrator|feed|xmlrpc\.php|wp-json)|\.(css|js|png|jpe?g|gif|svg|ico|xml|pdf|zip)$", re.I)
_FATAL = re.compile(r"PHP (?:Fatal error|Parse error):.*")


def php_available() -> bool:
    return shutil.which("php") is not None


@dataclasses.dataclass
class Page:
    path: str
    status: int = 0
    title: str = ""
    problems: list[str] = dataclasses.field(default_factory=list)
    live: str = ""   # what the live page answered, when it was compared

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class SandboxedPhp:
    """``php -S 127.0.0.1:PORT`` serving ``docroot`` with the drill's sandbox settings."""

    def __init__(self, docroot: Path, folder: Path):
        self.docroot = Path(docroot)
        self.folder = Path(folder)
        self.port = free_port()
        self.errors = self.folder / "php-errors.log"
        self.mail = self.folder / "mail.txt"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        (self.folder / "sandbox.php").write_text(_SANDBOX)
        (self.folder / "router.php").write_text(_ROUTER)
        ini = {"auto_prepend_file": self.folder / "sandbox.php", "sendmail_path": f"cat >> {self.mail}",
               "allow_url_fopen": "0", "disable_functions": _BLOCKED_FUNCTIONS, "display_errors": "0",
               "log_errors": "1", "error_log": self.errors, "max_execution_time": "30"}
        settings = [arg for name, value in ini.items() for arg in ("-d", f"{name}={value}")]
        return ["php", *settings, "-S", f"127.0.0.1:{self.port}", "-t", str(self.docroot),
                str(self.folder / "router.php")]

    def start(self, timeout: float = 20.0) -> "SandboxedPhp":
        # The site's PHP sees no secret of this process's environment.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PHP_CLI_SERVER_WORKERS": "2",
               "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
        with open(self.folder / "php-server.log", "ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, cwd=self.docroot,
                                            start_new_session=True)
        wait_listening(self.process, "127.0.0.1", self.port, name="php -S",
                       log=self.folder / "php-server.log", timeout=timeout)
        return self

    def stop(self) -> None:
        stop_group(self.process)

    def fatal_errors(self, seen: int) -> tuple[list[str], int]:
        """Fatal errors logged after byte ``seen`` of the error log, and the log's new end."""
        if not self.errors.is_file():
            return [], seen
        text = self.errors.read_bytes()[seen:].decode("utf-8", "replace")
        return _FATAL.findall(text), seen + len(text.encode("utf-8", "replace"))

    def mails(self) -> int:
        return self.mail.read_text(errors="replace").count("\nSubject:") if self.mail.is_file() else 0


def fetch(base: str, path: str, *, timeout: float = _TIMEOUT) -> tuple[int, str, bytes]:
    """GET ``base + path``: (status, Location header or "", body); nothing raised but OSError."""
    parts = urllib.parse.urlsplit(base)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", urllib.parse.urljoin(parts.path.rstrip("/") + "/", path.lstrip("/")) or "/",
                           headers={"User-Agent": "sitepack-drill"})
        response = connection.getresponse()
        return response.status, response.getheader("Location") or "", response.read()
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from None
    finally:
        connection.close()


def title_of(body: bytes) -> str:
    match = _TITLE.search(body)
    return " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split()) if match else ""


def menu_links(body: bytes, base: str) -> list[str]:
    """Paths of this site the page's menus link to (all its links when it has no menu)."""
    blocks = _NAV.findall(body) or [body]
    origin = urllib.parse.urlsplit(base)
    paths: list[str] = []
    for block in blocks:
        for href in _HREF.findall(block):
            link = urllib.parse.urlsplit(urllib.parse.urljoin(base + "/", html.unescape(href.decode("utf-8", "replace"))))
            if (link.scheme, link.netloc) != (origin.scheme, origin.netloc):
                continue
            path = link.path + (f"?{link.query}" if link.query else "")
            if path not in paths and path != "/" and not _SKIP.search(link.path):
                paths.append(path)
    return paths


def check_pages(server: SandboxedPhp, old_url: str, compare: Callable[[Page], None] | None) -> list[Page]:
    """The home page and up to ``MAX_PAGES`` - 1 menu links, each checked (see the module doc);
    ``compare`` adds what differs from the live site or an earlier drill."""
    pages: list[Page] = []
    queue, seen_log = ["/"], 0
    old = old_url.rstrip("/").encode() if old_url else b""
    while queue and len(pages) < MAX_PAGES:
        page = Page(queue.pop(0))
        pages.append(page)
        try:
            page.status, location, body = fetch(server.url, page.path)
        except OSError as exc:
            page.problems.append(f"no answer ({exc})")
            continue
        page.title = title_of(body)
        fatals, seen_log = server.fatal_errors(seen_log)
        if page.status >= 500:
            page.problems.append(f"HTTP {page.status}")
        page.problems += [f"PHP: {line.strip()[:300]}" for line in fatals]
        if b"Fatal error" in body and not fatals:
            page.problems.append("the page shows a PHP fatal error")
        if old and (location.startswith(old_url.rstrip("/")) or old in body):
            page.problems.append(f"links or redirects to the old URL {old_url}")
        if page.path == "/":
            queue += menu_links(body, server.url)[:MAX_PAGES - 1]
        if compare is not None:
            compare(page)
    return pages


def _differences(page: Page, status: int, title: str, where: str) -> None:
    page.live = f"{where}: HTTP {status}, {title!r}"
    if status != page.status:
        page.problems.append(f"HTTP {page.status} here, {status} {where}")
    elif title != page.title:
        page.problems.append(f"title {page.title!r} here, {title!r} {where}")


def compare_with_live(old_url: str) -> Callable[[Page], None]:
    """Compares each page with the same page of the live site (one GET each)."""
    def compare(page: Page) -> None:
        try:
            status, _, body = fetch(old_url, page.path, timeout=10)
        except OSError as exc:
            page.live = f"the live site: no answer ({exc})"
            return
        _differences(page, status, title_of(body), "on the live site")
    return compare


def compare_with_record(earlier: list[dict]) -> Callable[[Page], None]:
    """Compares each page with what an earlier drill of the same backup saw."""
    seen = {page["path"]: page for page in earlier}

    def compare(page: Page) -> None:
        if page.path in seen:
            _differences(page, seen[page.path]["status"], seen[page.path]["title"], "in the earlier drill")
    return compare


def live_site_answers(url: str) -> bool:
    """Whether the live site answers at all (one GET of its home page)."""
    if not url.startswith(("http://", "https://")):
        return False
    try:
        fetch(url, "/", timeout=5)
        return True
    except OSError:
        return False
