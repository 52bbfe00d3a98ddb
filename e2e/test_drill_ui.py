"""The drill after a backup made from the backup web UI, in real Chromium: a ``drill: true``
profile (ticked on the profile page) and an encrypted archive whose key is typed on Backup
Now; the drill runs in a process of its own on the server (real MariaDB server of its own,
real PHP), shown as a phase of the progress page, then in Manage Backups and by
``sitepack backups check``; a drill killed mid-way; a second drill of the same profile
waiting its turn. ``sitepack serve`` runs as a subprocess (``test_backup_ui.UiServer``)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness.demosite import build_demo_site
from packer import profiles
from packer.drill import record as drill_record
from test_backup_ui import ARCHIVE_KEY, LOGIN_PASSWORD, log_in, save_profile, ui_factory  # noqa: F401
from tests.drill.test_drill import drill_leftovers

PROFILE = "drilled"

# Keeps, in sessionStorage, every line the progress page showed under its steps.
WATCH_LINES = """
window.addEventListener("DOMContentLoaded", function () {
  var line = document.getElementById("last-item");
  if (!line) { return; }
  var seen = JSON.parse(sessionStorage.getItem("seen-lines") || "[]");
  new MutationObserver(function () {
    seen.push(line.textContent);
    sessionStorage.setItem("seen-lines", JSON.stringify(seen));
  }).observe(line, { childList: true, characterData: true, subtree: true });
});
"""


@pytest.fixture(scope="module")
def demo(mariadb, tmp_path_factory):
    params = mariadb.create_database()
    yield build_demo_site(tmp_path_factory.mktemp("drilldemo") / "site", params)
    mariadb.drop_database(params.database)


@pytest.fixture(autouse=True)
def no_drill_outlives_its_test(sitepack_home):
    """A test that fails while a drill is held still leaves no server running for good."""
    yield
    from packer.drill.run import cleanup_leftovers
    cleanup_leftovers()


def drilling_profile(page, url: str) -> None:
    """A jps profile (its key typed at each backup) whose backups are drilled, set in the page."""
    save_profile(page, url, PROFILE, fmt="jps", max_exec="2")
    page.goto(url + f"profiles/?name={PROFILE}")
    expect(page.locator("#f-drill")).not_to_be_checked()
    page.check("#f-drill")
    page.click("#save-profile")
    expect(page.locator(".notice.ok")).to_have_text(f"Profile '{PROFILE}' saved.")
    expect(page.locator("#f-drill")).to_be_checked()
    assert profiles.load(PROFILE).drill


def back_up(page, url: str) -> int:
    """Backup Now with the drilling profile and a typed key; the new backup's id."""
    page.goto(url + f"backup/new?profile={PROFILE}")
    page.fill("#description", "Drilled from the web")
    page.fill("#archive_password", ARCHIVE_KEY)
    page.click("#start-backup")
    expect(page).to_have_url(re.compile(r"/backup/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def drill_ends(page, outcome: str) -> None:
    """The progress page's drill phase turns green with ``outcome`` told."""
    expect(page.locator("#domains li[data-key=drill]")).to_have_class("done", timeout=180_000)
    expect(page.locator("#drill-outcome")).to_have_text(f"Restore drill: {outcome}")


def drill_result(backup_id: int) -> str:
    """The summary of the drill of ``backup_id``, once stored."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        result = drill_record.load(backup_id)
        if result:
            return result["summary"]
        time.sleep(0.2)
    raise AssertionError(f"backup #{backup_id} was not drilled")


def drilling_process(home: Path, backup_id: int) -> int:
    """The PID of the drill of ``backup_id`` once its throwaway database exists."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = _json(home / "drill-results" / f"{backup_id}.running.json")
        if status.get("state") == "drilling" and any(
                _json(marker).get("pid") == status["pid"] and _json(marker).get("database")
                for marker in (home / "drills").glob("*/drill.json")):
            return status["pid"]
        time.sleep(0.05)
    raise AssertionError(f"the drill of backup #{backup_id} did not reach its database")


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def drill_processes(home: Path, pid: int) -> list[int]:
    """The drill ``pid`` and every process naming its folder (its private servers)."""
    found = [pid]
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(home / "drills").encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def manage_line(page, url: str, backup_id: int):
    page.goto(url + "manage/")
    return page.locator(f"#record-{backup_id} .drill")


@pytest.mark.slow
def test_a_web_backup_of_a_drill_true_profile_is_drilled_shown_and_checked(page, screenshot, demo,
                                                                            ui_factory, sitepack_home):
    ui = ui_factory(demo.root)
    log_in(page, ui.url)
    drilling_profile(page, ui.url)
    page.context.add_init_script(WATCH_LINES)
    backup_id = back_up(page, ui.url)

    expect(page.locator("#domains li[data-key=drill]")).to_be_visible(timeout=120_000)
    expect(page.locator("#drill-hint")).to_be_visible()
    outcome = drill_result(backup_id)
    assert outcome.startswith("restorable: verified ") and outcome.endswith(" 12 tables, 1 pages"), outcome
    drill_ends(page, outcome)
    screenshot("backup-ui-drill-done")
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen-lines') || '[]')")
    assert any(line.startswith("drilling… (") for line in seen), seen   # its steps, live

    expect(manage_line(page, ui.url, backup_id)).to_have_text(outcome)
    expect(page.locator(f"#record-{backup_id} .drill.bad")).to_have_count(0)
    page.goto(ui.url + f"backup/{backup_id}/done")
    expect(page.locator("#drill-result")).to_have_text(outcome)
    check = subprocess.run(["sitepack", "backups", "check", "--profile", PROFILE],
                           capture_output=True, text=True)
    assert f"#{backup_id} {outcome}" in check.stdout and "never drilled" not in check.stdout, check.stdout
    log = (sitepack_home / "logs" / f"drill-{backup_id}.log").read_text()
    assert f"result: {outcome}" in log and ARCHIVE_KEY not in log
    assert drill_leftovers(sitepack_home) == []


@pytest.mark.slow
@pytest.mark.proof("security", "read the drill's archive key or the login password from the process "
                               "list or a drill process's environment, then SIGKILL the drill mid-way")
def test_a_killed_web_drill_is_told_leaves_nothing_and_drills_wait_their_turn(page, demo, ui_factory,
                                                                              sitepack_home, proof):
    ui = ui_factory(demo.root)
    log_in(page, ui.url)
    drilling_profile(page, ui.url)

    # The drill held still once its private server holds the throwaway database.
    first = back_up(page, ui.url)
    pid = drilling_process(sitepack_home, first)
    os.kill(pid, signal.SIGSTOP)
    try:
        expect(manage_line(page, ui.url, first)).to_have_text(re.compile(r"^drilling… \(.+\)$"))
        processes = drill_processes(sitepack_home, pid)
        assert len(processes) >= 2   # the drill and its mariadbd
        listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        for secret in (ARCHIVE_KEY, LOGIN_PASSWORD):
            assert secret not in listing
            proof.cases += 1
            for proc in processes:
                assert secret.encode() not in Path(f"/proc/{proc}/environ").read_bytes()
                assert secret.encode() not in Path(f"/proc/{proc}/cmdline").read_bytes()
                proof.cases += 1
    finally:
        os.kill(pid, signal.SIGKILL)
    # Its record says so (red, never the backup failed), and what it made is gone.
    line = manage_line(page, ui.url, first)
    expect(line).to_have_text(re.compile(rf"^drill interrupted \(.+ UTC, while .+\): drill it again "
                                         rf"with sitepack drill --backup {first}$"))
    expect(page.locator(f"#record-{first}")).to_have_attribute("data-status", "ok")
    expect(page.locator(f"#record-{first} .drill.bad")).to_have_count(1)
    assert drill_leftovers(sitepack_home) == [] and not Path(f"/proc/{pid}").exists()   # reaped
    check = subprocess.run(["sitepack", "backups", "check", "--profile", PROFILE], capture_output=True, text=True)
    assert f"#{first} drill interrupted" in check.stdout, check.stdout
    proof.cases += 1

    # A second backup's drill waits for the first one's end, then runs.
    second = back_up(page, ui.url)
    pid = drilling_process(sitepack_home, second)
    os.kill(pid, signal.SIGSTOP)
    try:
        third = back_up(page, ui.url)
        expect(page.locator("#last-item")).to_have_text(
            f"drill queued: waiting for the drill of backup #{second} (profile {PROFILE}) to end",
            timeout=120_000)
        assert not (sitepack_home / "drill-results" / f"{third}.json").exists()
    finally:
        os.kill(pid, signal.SIGCONT)
    drill_ends(page, drill_result(third))
    assert drill_result(second).startswith("restorable: verified ")
    assert drill_leftovers(sitepack_home) == []
    proof.note("the key and the login password in no command line or environment of "
               f"{len(processes)} drill processes; a SIGKILLed drill reported and cleaned up")
