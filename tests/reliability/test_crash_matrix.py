"""The crash matrix (E4, issue 23 part 1): SIGKILL at points spread by the work done.

Each subject runs as a user runs it, is killed with SIGKILL once it has done a share of
the work an uninterrupted run does (archive bytes written, bytes extracted, tables
imported), then the documented next step runs (``sitepack backup --resume ID``, the
same extraction again, the same headless restore again, a new wizard continuing the
import, Manage Backups' Resume in the browser), and the result must equal the
uninterrupted run: an archive that ``sitepack verify`` accepts and that extracts to the
same tree, a site folder and private folder identical byte for byte, a database equal
row by row. ``make test`` runs two points per subject (``crash.QUICK_POINTS``; one for
the browser), ``make test-long`` all of them. The headless restore also runs with URL
replacement on, compared with an uninterrupted restore that replaced (each URL replaced
once, none left): one point in ``make test``, every point in ``make test-long``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading

import pymysql
import pytest
from playwright.sync_api import expect

from e2e.test_restore_kickstart import build_kickstart
from harness.compare import file_digests, table_hashes
from packer import profiles, records
from tests.engine.engine_helpers import sitepack_verify, tree
from tests.reliability.conftest import (ARCHIVE_KEY, SLICES, backup_command, backup_tree_of,
                                        extract_command, with_key)
from tests.reliability.crash import bytes_under, kill_points, kill_process_when, kill_when
from tests.restore.bundles import bundle_copy, compare_rows_with_origin, compare_with_origin
from tests.restore.live_wizard import Browser, PrintingServer, WizardProcess


def next_backup_step(site_root, out) -> tuple[list[str], str]:
    """The documented next step after a killed ``sitepack backup``: ``--resume`` its
    pending record, or (killed before the record was committed) the same backup again."""
    pending = [r for r in records.list_records() if r.status == "pending"]
    assert len(pending) <= 1, pending
    if pending:
        return ["sitepack", "backup", "--resume", str(pending[0].id), "--quiet"], "resumed"
    return backup_command(site_root, out), "no record: run again"


def check_archive(record: records.Record, reference, tmp_path) -> None:
    """The archive verifies, extracts to the reference's tree, and nothing else is left."""
    assert record.status == "ok", record.error
    last = record.part_paths()[-1]
    sitepack_verify(last, ARCHIVE_KEY)
    dest, private = tmp_path / "check-site", tmp_path / "check-private"
    run = subprocess.run(extract_command(last, dest, private), env=with_key(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got = backup_tree_of(dest, private)
    assert got.keys() == reference.tree.keys()
    assert got == reference.tree
    leftovers = {p.name for p in last.parent.iterdir()} - set(record.parts) - {".htaccess", "web.config"}
    assert not leftovers, leftovers


@pytest.mark.proof("reliability", "a CLI backup (jps, 512 KiB parts) is SIGKILLed when its parts "
                                  "reach a share of the uninterrupted backup's size, then resumed")
@pytest.mark.parametrize("point", kill_points())
def test_cli_backup_killed_then_resumed_equals_an_uninterrupted_one(point, demo_site, reference_backup,
                                                                    tmp_path, proof):
    profiles.save(SLICES, name="slices")
    out = tmp_path / "out"
    at = round(point * reference_backup.size)
    assert kill_when(backup_command(demo_site.root, out), lambda: bytes_under(out) >= at, env=with_key()), \
        "the backup finished before the kill point"
    command, how = next_backup_step(demo_site.root, out)
    run = subprocess.run(command, env=with_key(), capture_output=True, text=True)
    assert run.returncode in (0, 2), run.stderr
    (record,) = records.list_records()
    check_archive(record, reference_backup, tmp_path)
    proof.cases += 1
    proof.note(f"killed at {at} of {reference_backup.size} bytes; {how}; verified, same tree")


def _extraction(tool: str, archive, dest, private, tmp_path) -> tuple[list[str], dict]:
    if tool == "extract":
        return extract_command(archive, dest, private), with_key()
    pyz = build_kickstart(tmp_path / "kick")
    return ([sys.executable, str(pyz), str(archive), str(dest), "--no-wizard", "--private-dir", str(private)],
            with_key(SITEPACK_ARCHIVE_PASSWORD=ARCHIVE_KEY))


@pytest.mark.proof("reliability", "an extraction (sitepack extract, kickstart.pyz) is SIGKILLed when "
                                  "it has written a share of the bytes, then run again")
@pytest.mark.parametrize("point", kill_points())
@pytest.mark.parametrize("tool", ["extract", "kickstart"])
def test_extraction_killed_then_run_again_writes_the_same_tree(tool, point, reference_backup, tmp_path, proof):
    dest, private = tmp_path / "site", tmp_path / "private"
    command, env = _extraction(tool, reference_backup.archive, dest, private, tmp_path)
    at = round(point * reference_backup.extracted_bytes)
    assert kill_when(command, lambda: bytes_under(dest) + bytes_under(private) >= at, env=env), \
        "the extraction finished before the kill point"
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert tree(dest) == reference_backup.site
    private_tree = tree(private)
    if tool == "kickstart":  # it notes itself in the restore's state, for the finish to remove
        assert json.loads(private_tree.pop(".restore-state.json")[1])["kickstart"] == command[1]
    assert private_tree == reference_backup.private
    proof.cases += 1
    proof.note(f"killed at {at} of {reference_backup.extracted_bytes} bytes; run again: same tree, "
               f"no temp file left")


def _tables(db) -> int:
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db.database,))
        return cur.fetchone()[0]


NEW_URL = "https://restored.example.org"


def _answers(target, tmp_path, *, replace: bool = False):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({
        "db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "T_DBPW",
               "database": target.database, "prefix": "new_", "existing": "drop"},
        "site": {"live_site": NEW_URL},
        "super_user": {"password_env": "T_ADMINPW"}, "replace": {"enabled": replace}}))
    return answers


def _restore_command(site, target, tmp_path, *, replace: bool = False) -> tuple[list[str], dict]:
    command = ["sitepack", "restore", str(site), "--answers", str(_answers(target, tmp_path, replace=replace))]
    return command, with_key(T_DBPW=target.password, T_ADMINPW="after the crash")


@pytest.mark.proof("reliability", "a headless restore (sitepack restore --answers) is SIGKILLed when "
                                  "it has imported a share of the tables, or after the site setup, "
                                  "then run again")
@pytest.mark.parametrize("point", [*kill_points(), pytest.param("setup", marks=pytest.mark.long)])
def test_headless_restore_killed_then_run_again_equals_the_origin(point, demo_site, db_factory, tmp_path,
                                                                  proof, php):
    site = bundle_copy(demo_site, tmp_path / "site")
    target = db_factory()
    command, env = _restore_command(site, target, tmp_path)
    assert kill_when(command, _restore_reached(point, demo_site, site, target), env=env), \
        "the restore finished before the kill point"
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    assert run.returncode in (0, 2), run.stdout + run.stderr
    assert target.password not in run.stdout + run.stderr
    compare_with_origin(demo_site, site, target, "new_")
    proof.cases += 1
    proof.note(f"killed {'after the site setup' if point == 'setup' else f'at {point:.0%} of the tables'}; "
               f"run again: files and rows equal the origin")


def _restore_reached(point, demo_site, site, target):
    """When a headless restore reached ``point``: a share of the tables imported, the
    site set up (configuration.php rewritten), or the URL replacement begun (the first
    article holds the new URL)."""
    config = (site / "configuration.php").read_bytes()
    if point == "setup":
        return lambda: (site / "configuration.php").read_bytes() != config
    if point == "replace":
        return lambda: _rows_with(target, NEW_URL) > 0
    total = len(demo_site.tables) + len(demo_site.unprefixed_tables)
    return lambda: _tables(target) >= max(1, round(point * total))


def _rows_with(target, text: str) -> int:
    with target.connect() as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT COUNT(*) FROM new_content WHERE CONCAT(introtext, `fulltext`) LIKE %s",
                        (f"%{text}%",))
        except pymysql.err.ProgrammingError:  # not imported yet
            return 0
        return cur.fetchone()[0]


@pytest.fixture(scope="module")
def replaced_restore(demo_site, mariadb, php, tmp_path_factory):
    """An uninterrupted headless restore of the demo site with URL replacement on: its
    files and rows, which a killed and rerun one must equal."""
    base = tmp_path_factory.mktemp("replaced-reference")
    site, target = bundle_copy(demo_site, base / "site"), mariadb.create_database()
    try:
        command, env = _restore_command(site, target, base, replace=True)
        run = subprocess.run(command, env=env, capture_output=True, text=True)
        assert run.returncode in (0, 2), run.stdout + run.stderr
        assert _rows_with(target, NEW_URL) > 0 and _rows_with(target, demo_site.live_site + "/") == 0
        with target.connect() as conn:
            rows = table_hashes(conn, "new_")
        yield _restored_files(demo_site, site), rows
    finally:
        mariadb.drop_database(target.database)


def _restored_files(demo_site, site) -> dict:
    """The restored site's files but configuration.php (a new secret each restore)."""
    files = file_digests(site, skip=tuple(demo_site.skipped_dirs))
    files.pop("configuration.php")
    return files


def _without_new_passwords(hashes: dict) -> dict:
    """Rows but the users' (the super user's new password hash has a salt of its own)."""
    return {**hashes, "#__users": hashes["#__users"][0]}


@pytest.mark.proof("reliability", "a headless restore with URL replacement on is SIGKILLed when it has "
                                  "imported a share of the tables, after the site setup, or once the "
                                  "replacement has begun, then run again")
# make test: killed after the site setup (where a rerun once read the new URL back as the
# old one and replaced nothing); make test-long: every point, ~15-20 s each.
@pytest.mark.parametrize("point", [*kill_points(quick=()), "setup", pytest.param("replace", marks=pytest.mark.long)])
def test_headless_restore_with_url_replacement_killed_then_run_again_equals_an_uninterrupted_one(
        point, demo_site, replaced_restore, db_factory, tmp_path, proof, php):
    site = bundle_copy(demo_site, tmp_path / "site")
    target = db_factory()
    command, env = _restore_command(site, target, tmp_path, replace=True)
    assert kill_when(command, _restore_reached(point, demo_site, site, target), env=env), \
        "the restore finished before the kill point"
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    assert run.returncode in (0, 2), run.stdout + run.stderr
    files, rows = replaced_restore
    assert _restored_files(demo_site, site) == files
    with target.connect() as conn:
        assert _without_new_passwords(table_hashes(conn, "new_")) == _without_new_passwords(rows)
    proof.cases += 1
    proof.note(f"killed {point if isinstance(point, str) else f'at {point:.0%} of the tables'}; run again: "
               f"files and rows equal an uninterrupted restore's (each URL replaced once)")


def _wizard_import(site, target, steps: list):
    """A new wizard on ``site``: connects the import to ``target`` and steps it (as the
    database page does) until it is done or the wizard is gone; returns the wizard."""
    wizard = WizardProcess(site, "--step-seconds", "0.2")
    browser = Browser(wizard.host, wizard.port)
    browser.request("GET", "/login")
    token = browser.csrf("/checks")
    headers = {"X-CSRF-Token": token}
    body = json.dumps({"host": target.host, "port": target.port, "user": target.user,
                       "password": target.password, "database": target.database, "prefix": "new_",
                       "existing": "drop"})
    status, _, text = browser.request("POST", "/api/database/site.sql/connect", json_body=body, headers=headers)
    assert status == 200, text

    def step():
        while True:
            try:
                status, _, text = browser.request("POST", "/api/database/site.sql/step", json_body="{}",
                                                  headers=headers)
            except OSError:  # the wizard was killed
                return
            steps.append(status)
            if status != 200 or json.loads(text)["done"]:
                return

    return wizard, threading.Thread(target=step)


@pytest.mark.proof("reliability", "the restore wizard is SIGKILLed in the middle of its database import "
                                  "(its step requests), then a new wizard continues the import")
@pytest.mark.parametrize("point", kill_points())
def test_wizard_import_killed_then_continued_equals_the_origin(point, demo_site, db_factory, tmp_path, proof):
    site = bundle_copy(demo_site, tmp_path / "site")
    target = db_factory()
    total = len(demo_site.tables) + len(demo_site.unprefixed_tables)
    steps: list[int] = []
    wizard, stepping = _wizard_import(site, target, steps)
    try:
        stepping.start()
        killed = kill_process_when(wizard.process, lambda: _tables(target) >= max(1, round(point * total)))
        stepping.join(60)
    finally:
        wizard.stop()
    assert killed, "the import finished before the kill point"
    again: list[int] = []
    wizard, stepping = _wizard_import(site, target, again)
    try:
        stepping.start()
        stepping.join(300)
    finally:
        wizard.stop()
    assert again and set(again) == {200}, again
    compare_rows_with_origin(demo_site, target, "new_")
    proof.cases += 1
    proof.note(f"killed at {point:.0%} of the tables after {len(steps)} steps; a new wizard finished in "
               f"{len(again)} steps: rows equal the origin's")


UI_LOGIN = "crash matrix login"


def _ui_server(site_root) -> PrintingServer:
    return PrintingServer(["sitepack", "serve", "--site", str(site_root), "--port", "0", "--password-env",
                           "UI_LOGIN"], r"(http://127\.0\.0\.1:\d+/)", env=with_key(UI_LOGIN=UI_LOGIN))


def _log_in(page, server) -> None:
    page.goto(server.printed_url + "login")
    page.fill("#password", UI_LOGIN)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Control Panel")


@pytest.mark.proof("reliability", "the backup UI's server is SIGKILLed while a browser steps a backup; "
                                  "Manage Backups' Resume on a new server completes it")
@pytest.mark.parametrize("point", kill_points(quick=(0.5,)))  # a browser costs time: one in make test
def test_browser_backup_killed_then_resumed_from_manage_backups(point, page, demo_site, reference_backup,
                                                                tmp_path, proof):
    out = tmp_path / "out"
    profiles.save({**SLICES, "format": "jps", "part_size": 512 * 1024, "output_dir": str(out),
                   "archive_password": ARCHIVE_KEY}, name="slices")
    at = round(point * reference_backup.size)
    server = _ui_server(demo_site.root)
    try:
        _log_in(page, server)
        page.goto(server.printed_url + "backup/new?profile=slices")
        page.click("#start-backup")
        expect(page).to_have_url(re.compile(r"/backup/\d+$"))
        backup_id = int(page.url.rsplit("/", 1)[1])
        assert kill_process_when(server.process, lambda: bytes_under(out) >= at), "finished before the kill"
    finally:
        server.stop()
    server = _ui_server(demo_site.root)
    try:
        _log_in(page, server)
        page.goto(server.printed_url + "manage/")
        row = page.locator(f"#record-{backup_id}")
        expect(row).to_have_attribute("data-status", "pending")
        row.get_by_role("link", name="Resume").click()
        expect(page).to_have_url(re.compile(rf"/backup/{backup_id}/done$"), timeout=120_000)
    finally:
        server.stop()
    check_archive(records.get(backup_id), reference_backup, tmp_path)
    proof.cases += 1
    proof.note(f"server killed at {at} of {reference_backup.size} bytes; resumed from Manage Backups: "
               f"verified, same tree")
