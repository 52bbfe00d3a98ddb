"""A real WordPress 6.1 site moved through the restore wizard in Chromium: new database,
table prefix, URL and folder. The moved site serves the same pages, and its administrator
and editor log in through wp-login.php in the browser and see their roles' menus."""

import os
import subprocess

from playwright.sync_api import expect

from e2e.test_restore_wizard import fill_database, login, start_wizard, stop
from harness.webservers import free_port
from harness.wordpress import USERS, server_for
from tests.restore.bundles import backup
from tests.restore.wordpress_checks import assert_moved, assert_pages_render_the_same

PREFIX = "wz_"


def test_wizard_moves_a_real_wordpress_and_its_users_still_log_in(tmp_path, wordpress_factory, db_factory,
                                                                    page, screenshot):
    origin = wordpress_factory(tmp_path / "site", f"http://127.0.0.1:{free_port()}")
    env = dict(os.environ, ARCHIVE_PW="wp archive key", INSTALLER_PW="wp installer")
    archive = backup(origin, tmp_path / "out", "jps", "--password-env", "ARCHIVE_PW",
                     "--installer-password-env", "INSTALLER_PW", env=env)
    docroot = tmp_path / "moved-by-the-wizard"
    restored = docroot / "blog"
    result = subprocess.run(["sitepack", "extract", str(archive), str(restored), "--password-env", "ARCHIVE_PW"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    target = db_factory()
    new_url = f"http://127.0.0.1:{free_port()}/blog"  # Chromium here reaches 127.0.0.1 only
    port = free_port()
    proc = start_wizard(restored, port)
    try:
        url = f"http://127.0.0.1:{port}/"
        login(page, url, "wp installer")
        expect(page.locator("h2").first).to_have_text("Pre-restore checks")
        page.click("#next")
        fill_database(page, target, PREFIX)
        page.click("#import")
        expect(page.locator("#next")).to_be_visible(timeout=60_000)
        page.click("#next")
        expect(page.locator("#live_site")).to_have_value(origin.url)
        page.fill("#live_site", new_url)
        screenshot("wordpress-wizard-01-setup")
        page.click("#apply")
        expect(page.locator("h2").first).to_have_text("Replace data")
        screenshot("wordpress-wizard-02-replace")
        page.click("#replace")
        expect(page.locator("#next")).to_be_visible(timeout=60_000)
        page.click("#next")
        page.click("#finish")
        expect(page.locator("#site-link")).to_have_attribute("href", new_url)
        proc.wait(15)
    finally:
        stop(proc)
    assert_moved(origin, restored, target, PREFIX, new_url)
    with origin.server(), server_for(new_url, docroot):
        assert_pages_render_the_same(origin.url, new_url)
        for user, (role, password) in USERS.items():
            page.context.clear_cookies()
            page.goto(new_url + "/wp-login.php")
            page.fill("#user_login", user)
            page.fill("#user_pass", password)
            page.click("#wp-submit")
            expect(page).to_have_url(new_url + "/wp-admin/")
            expect(page.locator("#wpbody-content h1")).to_have_text("Dashboard")
            expect(page.locator("#menu-posts")).to_be_visible()
            # (an editor's "Profile" menu is #menu-users too: the Users list link tells the roles apart)
            expect(page.locator("#menu-plugins, #menu-settings, #adminmenu a.menu-top[href='users.php']")).to_have_count(
                3 if role == "administrator" else 0)
            screenshot(f"wordpress-wizard-03-dashboard-{user}")
            page.goto(new_url + "/wp-admin/plugins.php")
            expect(page.locator("body")).to_contain_text(
                "Akismet" if role == "administrator" else "Sorry, you are not allowed to access this page.")
