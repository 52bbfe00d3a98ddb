"""The backup web UI in real Chromium: log in, profiles, Backup Now on the demo site (jps,
256 KiB parts, installer password, an unreadable file), live progress, leave and resume,
completion, Manage Backups (download + verify, freeze, delete files, delete), and the
automatic resume after failed step requests.

``sitepack serve`` runs as a subprocess. Tests run as root, who reads every file; the
server of the main test runs without the capabilities that let root ignore file modes
(``setpriv --bounding-set=-dac_override,-dac_read_search``), so a mode-000 file is
unreadable to it exactly as it would be to a web server user.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness.demosite import build_demo_site
from packer import records
from restorer.progress import human_size

LOGIN_PASSWORD = "web ui login pw"
ARCHIVE_KEY = "Ke'y \"ABC\" ü $1"
INSTALLER_PASSWORD = "Inst'aller pw"
UNREADABLE = "administrator/unreadable-notes.txt"
GREEN, BLUE, GREY = "rgb(211, 249, 216)", "rgb(219, 232, 255)", "rgb(233, 236, 239)"

# Records, in sessionStorage, every (domain, status) the progress list shows and its
# background colour, so the test can check what the user saw while steps ran.
WATCH_DOMAINS = """
window.addEventListener("DOMContentLoaded", function () {
  var list = document.getElementById("domains");
  if (!list) { return; }
  var seen = JSON.parse(sessionStorage.getItem("seen-domains") || "{}");
  function record() {
    Array.prototype.forEach.call(list.children, function (item) {
      var key = item.getAttribute("data-key") + ":" + item.className;
      if (!seen[key]) { seen[key] = getComputedStyle(item).backgroundColor; }
    });
    sessionStorage.setItem("seen-domains", JSON.stringify(seen));
  }
  new MutationObserver(record).observe(list, { childList: true, subtree: true, attributes: true });
  record();
});
"""


@pytest.fixture(scope="module")
def demo(mariadb, tmp_path_factory):
    params = mariadb.create_database()
    site = build_demo_site(tmp_path_factory.mktemp("webdemo") / "site", params)
    unreadable = site.root / UNREADABLE
    unreadable.write_text("root-only notes\n")
    unreadable.chmod(0)
    yield site
    mariadb.drop_database(params.database)


class UiServer:
    """``sitepack serve --port 0`` in a subprocess; stopped by PID."""

    def __init__(self, site_root: Path, log_path: Path, *, without_root_file_access: bool,
                 with_password: bool):
        command = [shutil.which("sitepack"), "serve", "--site", str(site_root), "--port", "0"]
        if with_password:
            command += ["--password-env", "SITEPACK_UI_LOGIN"]
        if without_root_file_access:
            command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                       "--inh-caps=-all", *command]
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=dict(os.environ, SITEPACK_UI_LOGIN=LOGIN_PASSWORD))
        deadline = time.monotonic() + 30
        while True:
            text = log_path.read_text()
            match = re.search(r"(http://127\.0\.0\.1:\d+/)login(#token=\S+)?", text)
            if match:
                self.url, self.login_url = match.group(1), match.group(0)
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"sitepack serve did not start:\n{text}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture
def ui_factory(tmp_path):
    started: list[UiServer] = []

    def start(site_root: Path, *, without_root_file_access: bool = False,
              with_password: bool = True) -> UiServer:
        server = UiServer(site_root, tmp_path / f"serve-{len(started)}.log",
                          without_root_file_access=without_root_file_access,
                          with_password=with_password)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def log_in(page, url: str) -> None:
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#password", LOGIN_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Control Panel")


def save_profile(page, url: str, name: str, *, fmt: str, part_size: str = "",
                 retry_wait: str = "1", max_exec: str = "0.1", backup_type: str = "full") -> None:
    page.goto(url + "profiles/")
    page.fill("#f-name", name)
    page.select_option("#f-backup_type", backup_type)
    page.select_option("#f-format", fmt)
    page.fill("#f-part_size", part_size)
    page.fill("#f-min_exec", "0")
    page.fill("#f-max_exec", max_exec)
    page.fill("#f-retry_wait", retry_wait)
    page.fill("#f-retry_count", "3")
    page.click("#save-profile")
    expect(page.locator(".notice.ok")).to_have_text(f"Profile '{name}' saved.")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_backup_now_progress_manage(page, screenshot, demo, ui_factory, tmp_path):
    ui = ui_factory(demo.root, without_root_file_access=True)
    page.context.add_init_script(WATCH_DOMAINS)

    # Log in (a wrong password first).
    page.goto(ui.url)
    page.fill("#password", "not it at all")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong password.")
    screenshot("backup-ui-login")
    page.fill("#password", LOGIN_PASSWORD)
    page.click("button[type=submit]")

    # Control Panel: the default output directory reminder, the Backup Now button.
    expect(page.locator("h1")).to_have_text("Control Panel")
    expect(page.locator("#site-warnings")).to_contain_text(
        f"Default output directory in use ({demo.root}/sitepack-backups)")
    expect(page.locator("#site-warnings")).to_contain_text("a well known location inside your site")
    expect(page.locator("#last-backup")).to_have_text("No backup has been taken yet.")
    screenshot("backup-ui-control-panel")

    # Profiles: bad values are refused with a clear message, then a jps profile is saved.
    page.goto(ui.url + "profiles/")
    page.fill("#f-name", "web")
    page.fill("#f-part_size", "12 apples")
    page.click("#save-profile")
    expect(page.locator("#form-error")).to_contain_text("profile setting 'part_size': '12 apples' is not a size")
    page.fill("#f-part_size", "")
    page.fill("#f-min_exec", "5")
    page.fill("#f-max_exec", "1")
    page.click("#save-profile")
    expect(page.locator("#form-error")).to_have_text("profile setting 'min_exec': must not be larger than max_exec")
    expect(page.locator(".field.invalid #f-min_exec")).to_be_visible()
    screenshot("backup-ui-profile-error")
    # Short steps (the helper's 0.1 s), so that the files after the unreadable one and
    # the finishing always take more steps than the one reporting its warning, however
    # fast the box: the test holds a later step to look at the live page.
    save_profile(page, ui.url, "web", fmt="jps", part_size="256K")
    screenshot("backup-ui-profiles")

    # Backup Now: the profile's encrypted format brings the key field and its warning.
    page.click("#backup-now") if page.locator("#backup-now").count() else page.goto(ui.url + "backup/new")
    expect(page.locator("#archive_password")).to_have_count(0)  # default profile: jpa
    page.select_option("#profile-choice", "web")
    expect(page.locator("#archive_password")).to_be_visible()
    expect(page.locator("#archive_password")).to_have_value("")
    expect(page.locator("#site-warnings")).to_contain_text("Encrypted format (jps) without a default key")
    expect(page.locator("#description")).to_have_value(re.compile(r"^Backup taken on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))
    page.fill("#description", "Web backup of [SITENAME] on [DATE]")
    page.fill("#comment", "Made by the e2e test\n<b>not bold</b>")
    page.fill("#archive_password", ARCHIVE_KEY)
    page.fill("#installer_password", INSTALLER_PASSWORD)
    screenshot("backup-ui-backup-now")

    # Progress: the step requests go through until the unreadable file's warning arrives,
    # then they are held (as a stalled server would) so the page can be looked at.
    held = []
    seen = {"warning": False, "finished_with_it": False}

    def pass_then_hold(route):
        if seen["warning"]:
            held.append(route)
            return
        response = route.fetch()
        body = response.text()
        if UNREADABLE in body:
            seen["warning"] = True
            seen["finished_with_it"] = '"finished": true' in body or '"finished":true' in body
        route.fulfill(response=response)

    page.route("**/backup/*/step", pass_then_hold)
    page.click("#start-backup")
    expect(page).to_have_url(re.compile(r"/backup/\d+$"))
    backup_id = int(page.url.rsplit("/", 1)[1])
    warning_item = page.locator("#warnings-pane li", has_text=UNREADABLE)
    expect(warning_item).to_be_visible(timeout=60_000)
    assert not seen["finished_with_it"], "the warning came with the last step: nothing left to hold"
    expect(warning_item).to_have_text(f"cannot read {UNREADABLE}: Permission denied (skipped)")
    expect(page.locator("#domains li.done").first).to_be_visible()
    expect(page.locator("#elapsed")).to_have_text(re.compile(r"^[1-9]\d*$"))  # counts up, live
    assert records.get(backup_id).status == "pending"
    shown = page.locator("#warnings-pane li").all_inner_texts()
    screenshot("backup-ui-progress")

    # Leave the page: the backup waits; Manage Backups offers to resume it.
    page.goto(ui.url + "manage/")
    row = page.locator(f"#record-{backup_id}")
    expect(row).to_have_attribute("data-status", "pending")
    screenshot("backup-ui-manage-pending")
    row.get_by_role("link", name="Resume").click()

    # Coming back resumes the same backup and shows the warnings so far, then runs to the end.
    expect(page).to_have_url(re.compile(rf"/backup/{backup_id}$"))
    expect(page.locator("#warnings-pane li")).to_have_text(shown)
    expect(page.locator("#domains li.done").first).to_be_visible()
    page.unroute("**/backup/*/step")  # lets the held step request through
    expect(page).to_have_url(re.compile(rf"/backup/{backup_id}/done$"), timeout=120_000)
    seen_domains = page.evaluate("JSON.parse(sessionStorage.getItem('seen-domains'))")
    for domain in ("init", "db", "files", "finalise"):
        assert seen_domains.get(f"{domain}:done") == GREEN, seen_domains
    assert BLUE in {c for k, c in seen_domains.items() if k.endswith(":running")}, seen_domains
    assert GREY in {c for k, c in seen_domains.items() if k.endswith(":pending")}, seen_domains

    # Completion page.
    record = records.get(backup_id)
    assert record.status == "ok" and record.origin == "web" and len(record.parts) >= 2
    expect(page.locator("#archive-name")).to_have_text(record.archive_name)
    assert record.archive_name.endswith(".jps")
    expect(page.locator("#archive-parts")).to_have_text(
        f"{len(record.parts)} files (.j01 … .jps), all needed to extract")
    expect(page.locator("#archive-size")).to_have_text(human_size(record.size))
    expect(page.locator("#archive-duration")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#warnings li", has_text=UNREADABLE)).to_have_count(1)
    screenshot("backup-ui-complete")
    page.click("#manage-backups")

    # Manage Backups: the record, every part downloaded and verified.
    row = page.locator(f"#record-{backup_id}")
    expect(row).to_contain_text(f"Web backup of {record.description.split(' of ')[1]}")
    expect(row.locator(".comment")).to_have_text("Made by the e2e test\n<b>not bold</b>")
    expect(row).to_contain_text("web")
    expect(row.locator(".badge.ok")).to_have_text("ok")
    screenshot("backup-ui-manage")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    links = row.locator("a[data-part]")
    expect(links).to_have_count(len(record.parts))
    for index, name in enumerate(record.parts):
        with page.expect_download() as info:
            links.nth(index).click()
        download = info.value
        assert download.suggested_filename == name
        download.save_as(downloads / name)
        assert sha256(downloads / name) == sha256(Path(record.output_dir) / name)
    verified = subprocess.run(
        ["sitepack", "verify", "--quiet", "--password-env", "ARCHIVE_KEY", str(downloads / record.archive_name)],
        capture_output=True, text=True, env=dict(os.environ, ARCHIVE_KEY=ARCHIVE_KEY))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    listing = subprocess.run(
        ["sitepack", "ls", "--password-env", "ARCHIVE_KEY", str(downloads / record.archive_name)],
        capture_output=True, text=True, env=dict(os.environ, ARCHIVE_KEY=ARCHIVE_KEY))
    assert listing.returncode == 0, listing.stderr
    assert "installation/password.json" in listing.stdout  # the installer password's hash
    assert UNREADABLE not in listing.stdout

    # The log viewer shows the log, escaped.
    row.get_by_role("link", name="Log").click()
    expect(page.locator("#log")).to_contain_text(f"WARNING | cannot read {UNREADABLE}")
    assert ARCHIVE_KEY not in page.locator("#log").inner_text()
    screenshot("backup-ui-log")
    page.go_back()

    # A frozen record refuses deletion; unfrozen, its files and then itself can be deleted
    # (each deletion asks first).
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    row.get_by_role("button", name="Freeze").click()
    expect(row.locator(".badge.frozen")).to_have_text("frozen")
    row.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".notice.error")).to_contain_text(f"backup #{backup_id} is frozen and cannot be deleted")
    expect(row).to_have_count(1)
    screenshot("backup-ui-frozen-refused")
    row.get_by_role("button", name="Unfreeze").click()
    row.get_by_role("button", name="Delete files").click()
    expect(row.locator(".badge.obsolete")).to_have_text("obsolete")
    assert not any((Path(record.output_dir) / name).exists() for name in record.parts)
    expect(row.locator("a[data-part]")).to_have_count(0)
    row.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".notice.ok")).to_contain_text(f"Backup #{backup_id} was deleted")
    expect(row).to_have_count(0)
    assert not Path(record.log_path).exists()
    assert questions == [
        f"Delete backup #{backup_id}: its record, archive files and log?",
        f"Delete the archive files of backup #{backup_id}? The record and its log are kept.",
        f"Delete backup #{backup_id}: its record, archive files and log?"]


def test_one_time_token_url_logs_in_once(page, screenshot, tmp_path, ui_factory):
    site = tmp_path / "site"
    site.mkdir()
    ui = ui_factory(site, with_password=False)
    assert "#token=" in ui.login_url
    token = ui.login_url.split("#token=")[1]
    page.goto(ui.login_url)
    expect(page.locator("h1")).to_have_text("Control Panel")
    assert token not in page.url
    assert page.evaluate("window.location.hash") == ""
    screenshot("backup-ui-token-login")
    page.fill("#new_password", "chosen login pw")
    page.fill("#new_password_again", "chosen login pw")
    page.click("#save-login-password")
    expect(page.locator(".notice.ok")).to_contain_text("Login password saved (as a salted hash).")
    expect(page.locator("#current_password")).to_be_visible()
    other = page.context.browser.new_context().new_page()
    other.goto(ui.login_url)
    expect(other.locator("#login-error")).to_have_text(
        "That login token is wrong or was already used: restart sitepack serve for a new one.")
    assert other.evaluate("window.location.hash") == ""
    other.context.close()
    server_log = ui.log_path.read_text()
    assert server_log.count(token) == 1  # printed once at start, never logged afterwards
    assert "POST /login 302" in server_log and "POST /login 403" in server_log


def _fail_first(times: int, seen: list):
    def handler(route):
        seen.append(route.request.headers.get("x-csrf-token"))
        if len(seen) <= times:
            route.fulfill(status=503, body="service unavailable")
        else:
            route.continue_()
    return handler


@pytest.mark.slow
def test_failed_steps_are_retried_after_a_countdown(page, screenshot, demo, ui_factory):
    ui = ui_factory(demo.root)
    log_in(page, ui.url)
    save_profile(page, ui.url, "retry", fmt="jpa", retry_wait="2", max_exec="5", backup_type="db")
    page.goto(ui.url + "backup/new?profile=retry")
    calls: list = []
    page.route("**/backup/*/step", _fail_first(2, calls))
    page.click("#start-backup")
    retry = page.locator("#retry")
    expect(retry).to_be_visible()
    expect(retry).to_contain_text("HTTP 503")
    expect(retry).to_contain_text("attempt 1 of 3")
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^[12]$"))
    screenshot("backup-ui-retry-countdown")
    expect(retry).to_contain_text("attempt 2 of 3")
    expect(page).to_have_url(re.compile(r"/backup/\d+/done$"), timeout=120_000)
    assert len(calls) >= 3 and all(calls), "every step request carries the CSRF header"


@pytest.mark.slow
def test_retries_running_out_show_the_error_page_with_the_log(page, screenshot, demo, ui_factory):
    ui = ui_factory(demo.root)
    log_in(page, ui.url)
    save_profile(page, ui.url, "retry", fmt="jpa", retry_wait="1", max_exec="5", backup_type="db")
    page.goto(ui.url + "backup/new?profile=retry")
    calls: list = []
    page.route("**/backup/*/step", _fail_first(4, calls))
    page.click("#start-backup")
    expect(page).to_have_url(re.compile(r"/backup/\d+/failed\?why="), timeout=30_000)
    assert len(calls) == 4  # the first try and 3 retries
    expect(page.locator("#failure-reason")).to_have_text(
        "The backup could not be resumed: the step request failed 4 times in a row "
        "(last error: HTTP 503 Service Unavailable).")
    expect(page.locator("#log")).to_contain_text("sitepack backup #")
    screenshot("backup-ui-failed")
    # The state was saved: once the server answers again, the same backup completes.
    page.unroute("**/backup/*/step")
    page.click("#resume")
    expect(page).to_have_url(re.compile(r"/backup/\d+/done$"), timeout=120_000)
