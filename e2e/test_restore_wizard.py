"""The restore wizard in real Chromium on the real MariaDB: gate, checks, database,
site setup, replace data, finish — and an import killed mid-way that continues."""

import json
import os
import signal
import subprocess
import sys

from playwright.sync_api import expect

from harness.demosite import build_demo_site
from harness.php import read_joomla_config
from harness.webservers import free_port
from restorer.private import default_private_dir
from tests.restore.bundles import (backup, bundle_copy, compare_with_origin, demo_site,  # noqa: F401 (fixture)
                                   make_bundle_dir, pack_without_manifest, php_password_verify, table_hashes)

NEW_URL = "https://restored.example.net/www"
ADMIN_PW = "Wiz'ard \"pw\" $1 ü"


def start_wizard(site_dir, port, *extra):
    """``python3 -I installation/restore.py wizard``: the bundle's own runtime, no site-packages."""
    proc = subprocess.Popen(
        [sys.executable, "-I", str(site_dir / "installation" / "restore.py"), "wizard", "--port", str(port),
         "--retry-seconds", "1", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline()
    assert f"http://127.0.0.1:{port}/" in first, first + proc.stdout.read() if proc.poll() is not None else first
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def login(page, url, password):
    page.goto(url)
    page.fill("#password", password)
    page.click("button[type=submit]")


def fill_database(page, target, prefix):
    page.fill("#host", target.host)
    page.fill("#port", str(target.port))
    page.fill("#user", target.user)
    page.fill("#password", target.password)
    page.fill("#database", target.database)
    page.fill("#prefix", prefix)


def test_wizard_restores_a_site_with_new_database_prefix_url_and_password(tmp_path, demo_site, db_factory, php, page, screenshot):
    site = demo_site
    env = dict(os.environ, ARCHIVE_PW="arch ïve key", INSTALLER_PW="open sesame")
    archive = backup(site, tmp_path / "out", "jps", "--part-size", "256K", "--password-env", "ARCHIVE_PW",
                     "--installer-password-env", "INSTALLER_PW", env=env)
    assert len(list((tmp_path / "out").glob("*.j[0-9][0-9]"))) >= 2  # split
    restored = tmp_path / "restored"
    result = subprocess.run(["sitepack", "extract", str(archive), str(restored), "--password-env", "ARCHIVE_PW"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    target = db_factory()
    port = free_port()
    proc = start_wizard(restored, port)
    try:
        url = f"http://127.0.0.1:{port}/"
        login(page, url, "not the password")
        expect(page.locator(".error")).to_have_text("Wrong installer password.")
        screenshot("wizard-01-login-refused")
        login(page, url, "open sesame")
        expect(page.locator("h2").first).to_have_text("Pre-restore checks")
        expect(page.frame_locator("iframe.readme").locator("body")).to_contain_text("round trip")
        screenshot("wizard-02-checks")
        page.click("#next")
        fill_database(page, target, "wz_")
        page.click("#import")
        expect(page.locator("#next")).to_be_visible(timeout=60_000)
        expect(page.locator("#status")).to_contain_text("100% imported")
        screenshot("wizard-03-database")
        page.click("#next")
        page.fill("#live_site", NEW_URL)
        page.fill("#su_password", ADMIN_PW)
        page.fill("#su_password2", ADMIN_PW)
        screenshot("wizard-04-setup")
        page.click("#apply")
        expect(page.locator("h2").first).to_have_text("Replace data")
        screenshot("wizard-05-replace")
        page.click("#dry-run")
        expect(page.locator("#status")).to_contain_text("Dry run done", timeout=60_000)
        screenshot("wizard-05b-replace-dry-run")
        page.click("#skip")
        screenshot("wizard-06-finish")
        page.click("#finish")
        expect(page.locator("#site-link")).to_have_attribute("href", NEW_URL)
        screenshot("wizard-07-done")
        proc.wait(15)
    finally:
        stop(proc)
    assert not (restored / "installation").exists()
    compare_with_origin(site, restored, target, "wz_")
    conf = read_joomla_config(restored / "configuration.php")
    assert (conf["db"], conf["dbprefix"], conf["live_site"]) == (target.database, "wz_", NEW_URL)
    assert conf["log_path"] == str(restored / "administrator" / "logs")
    assert conf["sitename"] == site.config["sitename"]
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT password FROM wz_users WHERE username = %s", (site.super_user["username"],))
        stored = cur.fetchone()[0]
    assert php_password_verify(ADMIN_PW, stored) is True


def test_wizard_import_killed_mid_way_continues_after_a_restart(tmp_path, db, db_factory, page, screenshot):
    site = build_demo_site(tmp_path / "origin", db)
    with site.db.connect() as conn, conn.cursor() as cur:  # enough statements to stop mid-way
        cur.execute(f"CREATE TABLE {site.prefix}bulk (id INT PRIMARY KEY, payload VARCHAR(200)) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO {site.prefix}bulk SELECT seq, REPEAT(SHA2(seq, 256), 3) FROM seq_1_to_15000")
    restored = make_bundle_dir(site, tmp_path / "restored", password="pw", packet_size=4096, split_size=1 << 20)
    target = db_factory()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start_wizard(restored, port, "--step-seconds", "0.01", "--retries", "0")
    try:
        login(page, url, "pw")
        page.click("#next")
        fill_database(page, target, "k_")
        page.click("#import")
        page.wait_for_function(
            "() => { const w = parseFloat(document.getElementById('bar').style.width); return w > 20 && w < 80; }",
            timeout=60_000)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        expect(page.locator("#error")).to_contain_text("Reload the page", timeout=30_000)
        screenshot("wizard-08-import-interrupted")
    finally:
        stop(proc)
    state_path = default_private_dir(restored) / ".restore-state.json"
    state = json.loads(state_path.read_text())
    assert not state["databases"]["site.sql"]["done"]
    assert oct(state_path.stat().st_mode & 0o777) == "0o600"
    assert target.password not in state_path.read_text()
    proc = start_wizard(restored, port)
    try:
        page.reload()
        page.fill("#password", "pw")
        page.click("button[type=submit]")
        page.goto(url + "database/site.sql")
        expect(page.locator("#resume-note")).to_contain_text("stopped at")
        expect(page.locator("#database")).to_have_value(target.database)
        screenshot("wizard-09-resume")
        page.fill("#password", target.password)
        page.click("#import")
        expect(page.locator("#next")).to_be_visible(timeout=120_000)
    finally:
        stop(proc)
    assert table_hashes(target, "k_") == table_hashes(site.db, site.prefix)


def test_wizard_restores_an_akeeba_jps2_archive_behind_its_password_php(tmp_path, demo_site, db_factory, php, page, screenshot):
    site = demo_site
    source = bundle_copy(site, tmp_path / "akeeba-site", password="angie pw", akeeba=True,
                             rename_server_files=False, readme="<p>Akeeba Backup README</p>")
    archive = pack_without_manifest(source, tmp_path / "site.jps", "jps2", password="jps2 key", part_size=300 * 1024)
    restored = tmp_path / "restored"
    env = dict(os.environ, JPS2_PW="jps2 key")
    result = subprocess.run(["sitepack", "extract", str(archive), str(restored), "--password-env", "JPS2_PW"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    target = db_factory()
    port = free_port()
    proc = subprocess.Popen(["sitepack", "wizard", str(restored), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/"
        login(page, url, "wrong")
        expect(page.locator(".error")).to_have_text("Wrong installer password.")
        login(page, url, "angie pw")
        expect(page.locator("table").nth(1)).to_contain_text("Akeeba Backup (its PHP installer is not run)")
        screenshot("wizard-10-akeeba-checks")
        page.goto(url + "database/other.sql")
        expect(page.locator(".error")).to_have_text("the backup has no database dump named other.sql")
        screenshot("wizard-11-error")
        page.goto(url + "checks")
        page.click("#next")
        fill_database(page, target, "ak_")
        page.click("#import")
        expect(page.locator("#next")).to_be_visible(timeout=60_000)
        page.click("#next")
        page.fill("#live_site", NEW_URL)
        page.fill("#su_password", ADMIN_PW)
        page.fill("#su_password2", ADMIN_PW)
        page.click("#apply")
        page.click("#skip")
        page.select_option("#htaccess", "keep")
        page.click("#finish")
        expect(page.locator("#site-link")).to_have_attribute("href", NEW_URL)
        proc.wait(15)
    finally:
        stop(proc)
    assert not (restored / "installation").exists() and not (restored / "RAN-PHP").exists()
    compare_with_origin(site, restored, target, "ak_")
    conf = read_joomla_config(restored / "configuration.php")
    assert (conf["db"], conf["dbprefix"], conf["live_site"]) == (target.database, "ak_", NEW_URL)
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT password FROM ak_users WHERE username = %s", (site.super_user["username"],))
        assert php_password_verify(ADMIN_PW, cur.fetchone()[0]) is True
