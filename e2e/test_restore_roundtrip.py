"""Round trips through the real command line: ``sitepack backup`` → ``sitepack extract`` →
``sitepack restore --answers`` (zip, jpa) — same checks as the wizard round trip."""

import json
import os
import subprocess

import pytest

from harness.php import read_joomla_config
from tests.restore.bundles import backup, compare_with_origin, demo_site, php_password_verify  # noqa: F401 (fixture)

NEW_URL = "https://moved.example.net"


@pytest.mark.parametrize("fmt", ["zip", "jpa"])
def test_backup_extract_and_headless_restore(fmt, tmp_path, demo_site, db_factory, php):
    site = demo_site
    archive = backup(site, tmp_path / "out", fmt)
    restored = tmp_path / "restored"
    result = subprocess.run(["sitepack", "extract", str(archive), str(restored)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    target = db_factory()
    answers = {
        "db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "RT_DBPW",
               "database": target.database, "prefix": f"{fmt}_"},
        "site": {"live_site": NEW_URL},
        "super_user": {"password_env": "RT_ADMIN"},
        "replace": {"enabled": False},
    }
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    env = dict(os.environ, RT_DBPW=target.password, RT_ADMIN="round trip ✓")
    result = subprocess.run(["sitepack", "restore", str(restored), "--answers", str(tmp_path / "answers.json")],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"the site is at {NEW_URL}" in result.stdout
    compare_with_origin(site, restored, target, f"{fmt}_")
    conf = read_joomla_config(restored / "configuration.php")
    assert (conf["db"], conf["dbprefix"], conf["live_site"]) == (target.database, f"{fmt}_", NEW_URL)
    assert conf["user"] == target.user and conf["password"] == target.password
    assert conf["tmp_path"] == str(restored / "tmp")
    for key, value in site.config.items():
        if key not in ("db", "dbprefix", "live_site", "host", "user", "password", "secret", "tmp_path", "log_path"):
            assert conf[key] == value, key
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT password FROM {fmt}_users WHERE username = %s", (site.super_user["username"],))
        assert php_password_verify("round trip ✓", cur.fetchone()[0]) is True
