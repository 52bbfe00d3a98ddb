"""What a moved WordPress site must still do, checked against the real site: pages as a
visitor sees them, logins through wp-login.php, rows free of the old URL and folder,
serialized values PHP still reads, a wp-config.php PHP loads. Shared by tests/ and e2e/."""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from harness.php import php_json
from harness.wordpress import USERS
from tests.restore.bundles import file_digests

# Pages a visitor opens: the front page, a post, a page, a plain ?p= link.
PAGES = ("/", "/moving-day/", "/about/", "/?p=1")
# What a PHP-serialized value starts with (the rest is PHP's to judge).
_SERIALIZED = re.compile(r"^(?:[aOC]:\d+:|s:\d+:\"|[idb]:[-\d.E+]+;|N;)")


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.title, self.headings, self.links, self.assets = "", [], [], []
        self._text_of: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.assets.append(attrs["src"])
        if tag == "img" and attrs.get("srcset"):
            self.assets += [part.split()[0] for part in attrs["srcset"].split(",")]
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.assets.append(attrs["href"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append((tag, ""))
        if tag == "title" or re.fullmatch(r"h[1-6]", tag):
            self._text_of = tag

    def handle_data(self, data):
        if self._text_of == "title":
            self.title += data
        elif self._text_of:
            self.headings[-1] = (self._text_of, self.headings[-1][1] + data)

    def handle_endtag(self, tag):
        if tag == self._text_of:
            self._text_of = None


@dataclass
class Page:
    status: int
    title: str
    headings: list
    internal_links: list      # relative to the site URL
    assets: list              # relative to the site URL
    foreign: list = field(default_factory=list)  # absolute links elsewhere (must be none)


def fetch(url: str, opener=None) -> tuple[int, str, str]:
    """(status, final URL, body) of a GET; HTTP errors are answers too."""
    opener = opener or urllib.request.build_opener()
    try:
        with opener.open(url, timeout=60) as response:
            return response.status, response.geturl(), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode("utf-8", "replace")


def page(site_url: str, path: str) -> Page:
    """The page at ``site_url + path`` as a visitor sees it, links relative to the site."""
    status, _, body = fetch(site_url + path)
    parser = _PageParser()
    parser.feed(body)
    base = site_url.rstrip("/")

    def relative(urls):
        inside = [u for u in urls if u.startswith(base + "/") or u == base]
        return sorted(u[len(base):] for u in inside), [u for u in urls if u not in inside]

    links, foreign_links = relative(parser.links)
    assets, foreign_assets = relative(parser.assets)
    foreign = [u for u in foreign_links + foreign_assets if re.match(r"(https?:)?//", u)]
    return Page(status, parser.title.strip(), parser.headings, links, assets, foreign)


def assert_pages_render_the_same(origin_url: str, restored_url: str) -> None:
    """Status, title, headings, internal links the same; every asset answers 200."""
    for path in PAGES:
        before, after = page(origin_url, path), page(restored_url, path)
        assert after == before, path
        assert before.status == 200 and before.internal_links and before.assets, path
        for asset in after.assets:
            status, _, _ = fetch(restored_url + asset.replace("&#038;", "&"))
            assert status == 200, restored_url + asset


def login(site_url: str, user: str) -> tuple[int, str, str]:
    """Logs ``user`` in through wp-login.php with a cookie jar: (status, final URL, body)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    fetch(site_url + "/wp-login.php", opener)  # sets WordPress's test cookie
    form = urllib.parse.urlencode({"log": user, "pwd": USERS[user][1], "wp-submit": "Log In",
                                   "redirect_to": site_url + "/wp-admin/", "testcookie": "1"}).encode()
    try:
        with opener.open(urllib.request.Request(site_url + "/wp-login.php", data=form), timeout=60) as response:
            return response.status, response.geturl(), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.geturl(), error.read().decode("utf-8", "replace")


def assert_dashboards_by_role(site_url: str) -> None:
    """The administrator and the editor log in and reach wp-admin with their roles' menus."""
    for user, (role, _) in USERS.items():
        status, final, body = login(site_url, user)
        assert (status, final) == (200, site_url + "/wp-admin/"), (user, status, final, body[:400])
        assert "<title>Dashboard" in body, (user, body[:400])
        menus = set(re.findall(r'href=[\'"](?:[^\'"]*/wp-admin/)?((?:plugins|users|edit|options-general)\.php)[\'"]',
                               body))
        if role == "administrator":
            assert {"plugins.php", "users.php", "options-general.php", "edit.php"} <= menus, menus
        else:
            assert "edit.php" in menus and not menus & {"plugins.php", "users.php", "options-general.php"}, menus


def text_values(db, prefix: str) -> dict[tuple, str]:
    """(table without prefix, primary key, column) -> value, for every text column of every table."""
    out = {}
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME LIKE %s", (prefix.replace("_", "\\_") + "%",))
        for (table,) in cur.fetchall():
            cur.execute(f"SHOW COLUMNS FROM `{table}`")
            columns = cur.fetchall()
            key = [c[0] for c in columns if c[3] == "PRI"]
            texts = [c[0] for c in columns if re.match(r"(long|medium|tiny)?text|varchar|char", c[1])]
            if not texts:
                continue
            cur.execute(f"SELECT {', '.join(f'`{c}`' for c in key + texts)} FROM `{table}`")
            for row in cur.fetchall():
                for column, value in zip(texts, row[len(key):]):
                    if value:
                        out[(table[len(prefix):], tuple(row[:len(key)]), column)] = value
    return out


def php_readable_serialized(values: dict[tuple, str]) -> set[tuple]:
    """The keys whose value PHP's unserialize() reads."""
    candidates = [(k, v) for k, v in values.items() if _SERIALIZED.match(v)]
    readable = php_json("$values = json_decode(stream_get_contents(STDIN), true); $out = [];"
                        "foreach ($values as $v) { $out[] = $v === 'b:0;' || @unserialize($v) !== false; }"
                        "echo json_encode($out);", stdin=json.dumps([v for _, v in candidates]).encode())
    return {k for (k, _), ok in zip(candidates, readable) if ok}


def old_spellings(url: str, root: Path) -> re.Pattern:
    """The old URL's host:port and the old folder, plain, JSON-escaped or URL-encoded."""
    host = urllib.parse.urlsplit(url).netloc
    folder = str(root)
    forms = {re.escape(host.replace(":", sep)) + r"(?!\d)" for sep in (":", "%3A", "%3a")}
    forms |= {re.escape(folder.replace("/", sep)) for sep in ("/", "\\/", "%2F", "%2f")}
    return re.compile("|".join(sorted(forms)))


def wp_load(root: Path, url: str, code: str):
    """Runs ``code`` (ending in an echo of JSON) inside the site's WordPress, with PHP CLI."""
    parts = urllib.parse.urlsplit(url)
    script = (f"$_SERVER['HTTP_HOST'] = {json.dumps(parts.netloc)}; $_SERVER['REQUEST_URI'] = '/';"
              f"require {json.dumps(str(root / 'wp-load.php'))}; {code}")
    result = subprocess.run(["php", "-d", "display_errors=stderr", "-r", script],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def assert_moved(origin, restored_root: Path, target, prefix: str, new_url: str) -> None:
    """Everything but the pages and logins: files, wp-config.php, rows."""
    before, after = file_digests(origin.root), file_digests(restored_root)
    assert before.pop("wp-config.php") and after.pop("wp-config.php")
    assert after == before
    values_before, values_after = text_values(origin.db, origin.prefix), text_values(target, prefix)
    missing = values_before.keys() - values_after.keys()
    assert not missing, {k: values_before[k][:200] for k in missing}
    readable_before = php_readable_serialized(values_before)
    assert len(readable_before) > 20
    assert readable_before <= php_readable_serialized(values_after)
    old = old_spellings(origin.url, origin.root)
    assert any(old.search(v) for v in values_before.values())
    assert {k: v for k, v in values_after.items() if old.search(v)} == {}
    # Last: loading WordPress changes rows of its own (e.g. theme_switched).
    loaded = wp_load(restored_root, new_url,
                     "global $wpdb; echo json_encode([DB_NAME, DB_USER, DB_HOST, $wpdb->prefix, "
                     "get_option('siteurl'), get_option('home'), ABSPATH, "
                     "get_userdata(1)->roles, get_userdata(2)->roles, user_can(1, 'activate_plugins'), "
                     "user_can(2, 'edit_others_posts'), user_can(2, 'activate_plugins')]);")
    assert loaded == [target.database, target.user, f"{target.host}:{target.port}", prefix, new_url, new_url,
                      str(restored_root) + "/", ["administrator"], ["editor"], True, True, False]
