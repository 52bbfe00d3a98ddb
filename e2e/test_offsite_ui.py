"""Off-site storage in the backup web UI, in real Chromium: the profile page's storage and
retention fields (login settings only shown, never set from the browser), and Manage
Backups showing where each backup is, uploading again and fetching back (real sshd)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from playwright.sync_api import expect

from harness.sshserver import SftpServer
from packer import profiles, records
from test_backup_ui import log_in, ui_factory  # noqa: F401 - the fixture is used by name


def test_profile_page_edits_quotas_and_storage_but_never_login_settings(page, screenshot,
                                                                         tmp_path, ui_factory):
    site = tmp_path / "site"
    site.mkdir()
    storage = {"type": "sftp", "host": "backup.example.net", "user": "site1",
               "folder": "sites/[HOST]", "key_file": "/root/.ssh/id_backup",
               "known_hosts": "/root/.ssh/known_hosts", "password_env": "SFTP_PW"}
    made = subprocess.run(["sitepack", "profiles", "set", "nightly", f"storage={json.dumps(storage)}"],
                          capture_output=True, text=True, env=os.environ)
    assert made.returncode == 0, made.stderr
    ui = ui_factory(site)
    log_in(page, ui.url)
    page.goto(ui.url + "profiles/?name=nightly")
    expect(page.locator("#f-storage\\.type")).to_have_value("sftp")
    expect(page.locator("#f-storage\\.host")).to_have_value("backup.example.net")
    expect(page.locator("#f-storage\\.folder")).to_have_value("sites/[HOST]")
    expect(page.locator("#login-settings")).to_contain_text(
        "Set now: key_file=/root/.ssh/id_backup, password_env=SFTP_PW, "
        "known_hosts=/root/.ssh/known_hosts.")
    for forbidden in ("key_file", "password_env", "password_file", "known_hosts",
                      "host_key_sha256", "endpoint_url"):
        expect(page.locator(f"[name='storage.{forbidden}']")).to_have_count(0)

    # A bad quota is refused with the field marked, nothing saved.
    page.fill("#f-retention\\.keep_last", "seven")
    page.fill("#f-retention\\.keep_bytes", "20G")
    page.click("#save-profile")
    expect(page.locator("#form-error")).to_have_text(
        "profile setting 'retention.keep_last': 'seven' must be a whole number of at least 1 "
        "(or empty for no such rule)")
    expect(page.locator(".field.invalid #f-retention\\.keep_last")).to_be_visible()
    expect(page.locator("#f-retention\\.keep_bytes")).to_have_value("20G")
    assert profiles.load("nightly").retention["keep_bytes"] is None

    # Quotas and the folder saved; the login settings the page never showed kept.
    page.fill("#f-retention\\.keep_last", "7")
    page.fill("#f-retention\\.keep_monthly", "12")
    page.fill("#f-storage\\.folder", "sites/shop")
    page.fill("#f-storage\\.port", "2222")
    page.check("[name='storage.delete_local']")
    page.click("#save-profile")
    expect(page.locator(".notice.ok")).to_have_text("Profile 'nightly' saved.")
    screenshot("backup-ui-profile-offsite")
    saved = profiles.load("nightly")
    assert {k: v for k, v in saved.retention.items() if v is not None} == {
        "keep_last": 7, "keep_bytes": 20 << 30, "keep_monthly": 12}
    assert saved.storage["folder"] == "sites/shop" and saved.storage["port"] == 2222
    assert saved.storage["delete_local"] is True
    assert (saved.storage["key_file"], saved.storage["known_hosts"], saved.storage["password_env"]) == (
        "/root/.ssh/id_backup", "/root/.ssh/known_hosts", "SFTP_PW")
    expect(page.locator("#f-retention\\.keep_bytes")).to_have_value("20G")
    expect(page.locator("#f-retention\\.keep_last")).to_have_value("7")

    # Local only again: the storage is removed, the quotas stay.
    page.select_option("#f-storage\\.type", "")
    page.click("#save-profile")
    expect(page.locator(".notice.ok")).to_have_text("Profile 'nightly' saved.")
    assert profiles.load("nightly").storage is None
    assert profiles.load("nightly").retention["keep_last"] == 7


def test_manage_page_shows_storage_uploads_again_and_fetches(page, screenshot, tmp_path,
                                                            ui_factory):
    site = tmp_path / "site"
    (site / "images").mkdir(parents=True)
    (site / "images" / "photo.jpg").write_bytes(os.urandom(100_000))
    remote = tmp_path / "remote"
    with SftpServer(tmp_path / "sshd") as sshd:
        storage = {"type": "sftp", "host": sshd.host, "port": sshd.port, "user": sshd.user,
                   "key_file": str(sshd.client_key), "folder": str(remote), "delete_local": True,
                   "known_hosts": str(sshd.known_hosts(tmp_path / "known_hosts"))}
        profiles.save({"backup_type": "files", "storage": storage}, name="offsite")
        out = tmp_path / "out"
        sent = _backup(site, out, "sent")
        assert sent.returncode == 0, sent.stderr
        # The server refuses the second backup's part (a folder where its upload goes):
        # the backup completes, its part stays local, the record says upload-pending.
        (remote / "blocked.jpa.partial").mkdir()
        blocked = _backup(site, out, "blocked")
        assert blocked.returncode == 2, blocked.stderr  # done, with a warning
        first, second = sorted(records.list_records(), key=lambda r: r.id)
        assert (first.status, second.status) == ("remote", "upload-pending")

        ui = ui_factory(site)
        log_in(page, ui.url)
        page.goto(ui.url + "manage/")
        row1, row2 = page.locator(f"#record-{first.id}"), page.locator(f"#record-{second.id}")
        location = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}/{remote}/"
        expect(row1.locator(".offsite")).to_have_text(f"Off-site: {location} · 1 of 1 part stored")
        expect(row1.locator(".badge.remote")).to_have_text("remote")
        expect(row1.locator("[data-part]")).to_have_count(0)  # nothing local to download
        expect(row2.locator(".offsite")).to_contain_text(f"Off-site: {location} · 0 of 1 part stored · ")
        expect(row2.locator(".badge.upload-pending")).to_have_text("upload-pending")
        expect(row1.get_by_role("button", name="Upload again")).to_have_count(0)
        expect(row2.get_by_role("button", name="Fetch")).to_have_count(0)
        screenshot("backup-ui-manage-offsite")

        # Upload again once the server takes it: stored, verified, the local part gone.
        (remote / "blocked.jpa.partial").rmdir()
        row2.get_by_role("button", name="Upload again").click()
        expect(page.locator(".notice.ok")).to_have_text(
            f"Every part of backup #{second.id} is stored off-site, SHA-256 verified.")
        expect(row2.locator(".badge.remote")).to_have_text("remote")
        assert (remote / "blocked.jpa").is_file() and not (out / "blocked.jpa").exists()

        # Fetch brings the first back: the part downloads again, byte for byte.
        row1.get_by_role("button", name="Fetch").click()
        expect(page.locator(".notice.ok")).to_contain_text(f"Backup #{first.id} was fetched back")
        expect(row1.locator(".badge.ok")).to_have_text("ok")
        with page.expect_download() as download:
            row1.locator("[data-part='1']").click()
        assert Path(download.value.path()).read_bytes() == (remote / "sent.jpa").read_bytes()


def _backup(site: Path, out: Path, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sitepack", "backup", str(site), "--profile", "offsite", "--output-dir",
                           str(out), "--name", name, "--quiet"], capture_output=True, text=True,
                          env=os.environ)
