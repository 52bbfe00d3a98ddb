"""``sitepack drill`` as users run it: real backups of the demo site and of a real WordPress,
drilled into a private MariaDB or the test server, pages served by real PHP."""

from __future__ import annotations

import contextlib
import json
import re
import os
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from harness.compare import table_hashes
from harness.demosite import build_demo_site
from harness.webservers import free_port
from restorer.extract.extractor import extract
from tests.restore.bundles import backup


def sitepack(*args, env=None, **options):
    return subprocess.run(["sitepack", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})}, **options)


def drill_with(mariadb, *args):
    """``sitepack drill ... --json`` with a throwaway database on the test server."""
    result = sitepack("drill", *args, "--json", "--db-host", "127.0.0.1", "--db-port", str(mariadb.port),
                      "--db-user", mariadb.USER, "--db-password-env", "DRILL_DB_PW",
                      env={"DRILL_DB_PW": mariadb.password})
    assert mariadb.password not in result.stdout + result.stderr
    return result, json.loads(result.stdout)


def drill_leftovers(home: Path) -> list[str]:
    """What drills left: folders under the data directory, live processes naming them, databases."""
    folder = home / "drills"
    found = [str(p) for p in folder.iterdir()] if folder.is_dir() else []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(folder).encode() in (proc / "cmdline").read_bytes():
                found.append(f"process {proc.name}")
        except OSError:
            pass
    return found


def drill_databases(mariadb) -> list[str]:
    with mariadb.root_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'sitepack\\_drill\\_%'")
        return [row[0] for row in cur.fetchall()]


@pytest.fixture
def demo(mariadb, tmp_path):
    db = mariadb.create_database()
    site = build_demo_site(tmp_path / "site", db)
    yield site, backup(site, tmp_path / "out", "jpa")
    mariadb.drop_database(db.database)


def test_a_good_backup_drills_green_with_every_figure_in_a_private_server(demo, sitepack_home):
    site, archive = demo
    result = sitepack("drill", str(archive))
    assert result.returncode == 0, result.stdout + result.stderr
    files = sum(1 for _ in site.root.rglob("*"))   # files, folders and links, plus installation/
    # the site's prefixed tables (legacy_stats has no prefix: not the site's), sessions without rows
    tables = {name: count for name, count in site.row_counts.items() if name.startswith(site.prefix)}
    rows = sum(tables.values()) - tables[f"{site.prefix}session"]
    assert f"database: database verified: {len(tables)} tables, {rows:,} rows, every checksum equal" \
        in result.stdout
    assert "page /: HTTP 200" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("result: restorable: verified ")
    figures = json.loads(sitepack("drill", str(archive), "--json").stdout)
    assert figures["exit_code"] == 0 and figures["tables"] == len(tables) and figures["rows"] == rows
    assert figures["files"] > files and figures["problems"] == [] and figures["pages"][0]["status"] == 200
    assert drill_leftovers(sitepack_home) == []


@pytest.mark.proof("security", "a drill of an archive damaged after the backup, and of a dump that lost a row")
def test_a_damaged_archive_and_a_dump_that_lost_a_row_drill_red(demo, mariadb, tmp_path, sitepack_home, proof):
    site, archive = demo
    damaged = tmp_path / "damaged.jpa"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(data)
    result, report = drill_with(mariadb, str(damaged))
    assert result.returncode == 1 and report["exit_code"] == 1
    assert report["problems"] and report["summary"].startswith("NOT restorable")
    proof.cases += 1

    # The same backup with one row of #__content cut out of its dump, re-packed with a
    # manifest that agrees: only the dump's own record can tell.
    tree = tmp_path / "tree"
    extract(archive, tree, private_dir=tree / "installation")
    dump = tree / "installation" / "sql" / "site.sql"
    text = dump.read_bytes()
    start = text.index(b"INSERT INTO `#__content` (")
    first_row = text.index(b"VALUES (", start) + len(b"VALUES ")
    second_row = text.index(b"),(", first_row) + 2
    dump.write_bytes(text[:first_row] + text[second_row:])
    (tree / "installation" / "sitepack-manifest.tsv.gz").unlink()   # pack writes a new one
    edited = tmp_path / "edited.jpa"
    packed = sitepack("pack", str(tree), "-o", str(edited))
    assert packed.returncode == 0, packed.stdout + packed.stderr
    verified = sitepack("verify", str(edited))
    assert verified.returncode == 1
    expected = site.row_counts["jos_content"]
    assert f"#__content: {expected - 1:,} rows in the dump, its record says {expected:,}" in verified.stdout
    assert "database dump consistent" in sitepack("verify", str(archive)).stdout
    result, report = drill_with(mariadb, str(edited))
    assert result.returncode == 1
    assert report["database"].startswith("database NOT verified: 1 of")
    assert f"jos_content: {expected - 1:,} rows, the backup has {expected:,}" in report["database"]
    proof.cases += 1
    assert drill_leftovers(sitepack_home) == [] and drill_databases(mariadb) == []
    proof.note("2 damaged backups, both red, each naming what is wrong")


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def _killed_drill(archive: Path, home: Path) -> list[str]:
    """Starts a drill, SIGKILLs it once its private server runs and holds the throwaway
    database (the import is still to come); returns what it left."""
    drill = subprocess.Popen(["sitepack", "drill", str(archive)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)

    def database_made():
        for marker in (home / "drills").glob("*/drill.json"):
            with open(marker) as f:
                if json.load(f).get("database"):
                    return True
        return False
    try:
        _wait_for(database_made, 120)
    finally:
        drill.send_signal(signal.SIGKILL)
        drill.wait()
    left = drill_leftovers(home)
    assert any(item.startswith("process") for item in left)
    return left


def test_a_sigkilled_drill_leaves_nothing_after_the_next_drill_or_cleanup(demo, sitepack_home):
    site, archive = demo
    _killed_drill(archive, sitepack_home)
    result = sitepack("drill", str(archive), "--no-pages")
    assert result.returncode == 2, result.stdout + result.stderr   # pages not checked: asked so
    assert "cleanup: stopped the mariadbd process" in result.stderr
    assert drill_leftovers(sitepack_home) == []

    _killed_drill(archive, sitepack_home)
    result = sitepack("drill", "--cleanup")
    assert result.returncode == 0 and "stopped the mariadbd process" in result.stdout
    assert drill_leftovers(sitepack_home) == []
    assert sitepack("drill", "--cleanup").stdout.strip() == "nothing left behind by earlier drills"


def test_a_wordpress_whose_configuration_makes_php_fail_drills_red(wordpress_factory, mariadb, tmp_path):
    origin = wordpress_factory(tmp_path / "site", f"http://127.0.0.1:{free_port()}")
    config = origin.root / "wp-config.php"
    text = config.read_text()
    marker = "require_once ABSPATH . 'wp-settings.php';"
    assert marker in text
    config.write_text(text.replace(marker, "require __DIR__ . '/wp-content/settings-lost-in-the-move.php';\n" + marker))
    archive = backup(origin, tmp_path / "out", "jpa")
    with origin.db.connect() as conn:
        before = table_hashes(conn, origin.prefix)
    result, report = drill_with(mariadb, str(archive))
    with origin.db.connect() as conn:   # the live site's database: never touched by the drill
        assert table_hashes(conn, origin.prefix) == before
    assert result.returncode == 1
    home = report["pages"][0]
    assert home["status"] == 500
    assert any("settings-lost-in-the-move.php" in problem and "PHP Fatal error" in problem
               for problem in home["problems"])
    assert report["database"].startswith("database verified:")


def test_a_drill_true_profile_drills_every_backup_and_manage_backups_shows_it(mariadb, tmp_path, sitepack_home):
    from packer.web import create_app
    from packer.web.login import LoginPassword
    from tests.web.web_login import PASSWORD, log_in

    db = mariadb.create_database()
    site = build_demo_site(tmp_path / "site", db)
    assert sitepack("profiles", "set", "drilled", "drill=true").returncode == 0
    result = sitepack("backup", str(site.root), "--profile", "drilled", "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("drill: "))
    assert line.startswith("drill: restorable: verified ") and line.endswith(" 12 tables, 1 pages")
    record_id = re.search(r"^record: #(\d+)$", result.stdout, re.M).group(1)
    shown = sitepack("backups", "show", record_id).stdout
    assert f"drill:          {line[len('drill: '):]}" in shown
    login = LoginPassword()
    login.set(PASSWORD)
    client = create_app(site.root, password=login).test_client()
    log_in(client)
    assert line[len("drill: "):] in client.get("/manage/").text
    mariadb.drop_database(db.database)


# Runs on every page of the drilled copy: every way the site's own PHP could mail or call out.
_CALLS_OUT = """<?php
add_action('wp_loaded', function () {
    $from = rawurlencode(home_url());   // which copy called: the live site or the drill's
    $target = "http://127.0.0.1:%(port)d/from/$from";
    $request = "GET /from/$from HTTP/1.0\r\n\r\n";
    $tries = [
        'wp_remote_get' => function () use ($target) { return wp_remote_get($target); },
        'file_get_contents' => function () use ($target) { return file_get_contents($target); },
        'fsockopen' => function () use ($request) { fwrite(fsockopen('127.0.0.1', %(port)d), $request); },
        'stream_socket_client' => function () use ($request) {
            fwrite(stream_socket_client('tcp://127.0.0.1:%(port)d'), $request); },
        'curl' => function () use ($target) { $c = curl_init($target); return curl_exec($c); },
        'wp_mail' => function () { return wp_mail('owner@example.org', 'drill mail', 'must not leave'); },
        'mail' => function () { return mail('owner@example.org', 'raw mail', 'must not leave'); },
    ];
    foreach ($tries as $try) {
        try { @$try(); } catch (\\Throwable $e) { }
    }
});
"""


@pytest.mark.proof("security", "the drilled copy's own PHP mails, calls a URL, opens sockets, curls, on every page")
def test_a_real_wordpress_drills_green_its_pages_like_the_live_sites_sending_nothing_out(
        wordpress_factory, mariadb, tmp_path, sitepack_home, proof):
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    reached: list = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection = listener.accept()[0]
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    reached.append(connection.recv(300))
                    connection.sendall(b"HTTP/1.0 204 No Content\r\n\r\n")
    watcher = threading.Thread(target=accept)
    watcher.start()
    try:
        origin = wordpress_factory(tmp_path / "site", f"http://127.0.0.1:{free_port()}")
        plugins = origin.root / "wp-content" / "mu-plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        (plugins / "calls-out.php").write_text(_CALLS_OUT % {"port": listener.getsockname()[1]})
        archive = backup(origin, tmp_path / "out", "zip")
        with origin.server():   # the live site answers: each page is compared with it
            result, report = drill_with(mariadb, str(archive))
    finally:
        stop.set()
        watcher.join()
        listener.close()
    assert result.returncode == 0, report
    pages = report["pages"]
    assert len(pages) >= 3 and all(page["status"] == 200 and page["title"] for page in pages)
    assert all(page["live"].startswith("on the live site: HTTP 200") for page in pages)
    assert report["database"].startswith("database verified:")
    assert drill_leftovers(sitepack_home) == [] and drill_databases(mariadb) == []
    # the live site's pages ran the plugin too, and reached the listener; the drill's copy never
    live = f"/from/{urllib.parse.quote(origin.url, safe='')}".encode()
    assert reached and all(live in request for request in reached), reached
    assert report["mails"] >= 2 * len(pages)   # wp_mail and mail() on every page, caught
    proof.cases += 7 * len(pages)
    proof.note(f"{len(pages)} pages x 7 ways out: 0 connections from the copy, {report['mails']} mails caught")
