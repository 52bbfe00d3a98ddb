"""``sitepack profiles``: settings changed from the command line, secrets never as arguments."""

import json
import os
import subprocess


def _sitepack(*args, env=None):
    return subprocess.run(["sitepack", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_set_show_list_delete(sitepack_home):
    done = _sitepack("profiles", "set", "nightly", "format=jps", "part_size=131072",
                     'filters.exclude_dirs=["images/big"]', "output_dir=/srv/backups",
                     "--archive-password-env", "KEY", env={"KEY": "default key"})
    assert done.returncode == 0, done.stderr
    shown = json.loads(_sitepack("profiles", "show", "nightly").stdout)
    assert (shown["format"], shown["part_size"], shown["output_dir"]) == ("jps", 131072, "/srv/backups")
    assert shown["filters"]["exclude_dirs"] == ["images/big"]
    assert shown["archive_password"] == "***"
    saved = json.loads((sitepack_home / "profiles" / "nightly.json").read_text())
    assert saved["archive_password"] == "default key"
    assert _sitepack("profiles", "list").stdout.split() == ["default", "nightly"]
    assert _sitepack("profiles", "delete", "nightly").returncode == 0
    assert _sitepack("profiles", "list").stdout.split() == ["default"]


def test_bad_settings_are_refused_with_the_field_named():
    bad = _sitepack("profiles", "set", "x", "max_exec=0.5", "min_exec=2")
    assert bad.returncode == 1
    assert bad.stderr == "error: profile setting 'min_exec': must not be larger than max_exec\n"
    secret = _sitepack("profiles", "set", "x", "archive_password=oops")
    assert secret.returncode == 1 and "never on the command line" in secret.stderr
    assert _sitepack("profiles", "list").stdout.split() == ["default"]
