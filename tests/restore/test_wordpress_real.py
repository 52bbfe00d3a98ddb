"""A real WordPress 6.1 site (Debian's package, wp_install(), content made by WordPress)
moved headless: ``sitepack backup`` → ``sitepack extract`` into a new folder →
``sitepack restore --answers`` into a new database with a new table prefix, URL and path.
The moved site must serve the same pages and let its administrator and editor into
wp-admin with their roles. Moves to a longer and to a shorter URL and path, so broken
``s:N:`` lengths cannot hide behind equal lengths."""

import json
import os
import subprocess

import pytest

from harness.webservers import free_port
from harness.wordpress import server_for
from tests.restore.bundles import backup
from tests.restore.wordpress_checks import assert_dashboards_by_role, assert_moved, assert_pages_render_the_same

# (origin URL path, origin folder, origin prefix) -> (new URL host/path, new folder, new prefix)
MOVES = {
    "to a longer URL and path, new prefix starting with the old":
        (("", "site", "wp_"), ("127.0.0.1", "/moved/a/deeper/blog", "restored-into-a-much-longer-folder", "wp_x_")),
    "to a shorter URL and path, new prefix the start of the old":
        (("/old/blog", "origin-site-with-a-long-folder-name", "wp_x_"), ("127.0.0.2", "", "r", "wp_")),
}


def move(tmp_path, wordpress_factory, db_factory, old, new, fmt):
    """Builds the origin, backs it up, extracts and restores it headless; returns (origin,
    restored root, the folder serving it, target database, new prefix, new URL)."""
    old_path, old_folder, old_prefix = old
    new_host, new_path, new_folder, new_prefix = new
    origin_docroot = tmp_path / old_folder
    origin = wordpress_factory(origin_docroot / old_path.strip("/"), f"http://127.0.0.1:{free_port()}{old_path}",
                               prefix=old_prefix, docroot=origin_docroot)
    archive = backup(origin, tmp_path / "out", fmt)
    restored_docroot = tmp_path / new_folder
    restored = restored_docroot / new_path.strip("/")
    result = subprocess.run(["sitepack", "extract", str(archive), str(restored)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    target = db_factory()
    new_url = f"http://{new_host}:{free_port(new_host)}{new_path}"
    answers = {"db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "WP_DBPW",
                      "database": target.database, "prefix": new_prefix},
               "site": {"live_site": new_url}, "replace": {"enabled": True}}
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    result = subprocess.run(["sitepack", "restore", str(restored), "--answers", str(tmp_path / "answers.json")],
                            capture_output=True, text=True, env=dict(os.environ, WP_DBPW=target.password))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert target.password not in result.stdout + result.stderr
    return origin, restored, restored_docroot, target, new_prefix, new_url


@pytest.mark.parametrize("case", MOVES)
def test_real_wordpress_moves_with_a_new_prefix_url_and_path(case, tmp_path, wordpress_factory, db_factory):
    old, new = MOVES[case]
    origin, restored, docroot, target, prefix, new_url = move(tmp_path, wordpress_factory, db_factory, old, new,
                                                              "jpa" if "longer" in case else "zip")
    assert_moved(origin, restored, target, prefix, new_url)
    with origin.server(), server_for(new_url, docroot):
        assert_pages_render_the_same(origin.url, new_url)
        assert_dashboards_by_role(new_url)
