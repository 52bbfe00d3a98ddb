"""The profile page's off-site storage and retention fields in real Chromium: quotas and
the storage edited, login settings only shown (never set from the browser)."""

from __future__ import annotations

import json
import os
import subprocess

from playwright.sync_api import expect

from packer import profiles
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

    # A form that tries to name a login setting anyway (a forged POST) cannot set it.
    page.evaluate("""() => {
        const form = document.getElementById('profile-form');
        for (const [name, value] of [['storage.password_file', '/etc/shadow'],
                                     ['storage.host_key_sha256', 'SHA256:forged']]) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value;
            form.appendChild(input);
        }
    }""")
    page.click("#save-profile")
    expect(page.locator(".notice.ok")).to_have_text("Profile 'nightly' saved.")
    again = profiles.load("nightly").storage
    assert again.get("password_file") is None and again.get("host_key_sha256") is None

    # Local only again: the storage is removed, the quotas stay.
    page.select_option("#f-storage\\.type", "")
    page.click("#save-profile")
    expect(page.locator(".notice.ok")).to_have_text("Profile 'nightly' saved.")
    assert profiles.load("nightly").storage is None
    assert profiles.load("nightly").retention["keep_last"] == 7
