"""Where a site bundle's restore data goes: the private folder, never the served folder;
finish removes it and the archive parts inside the site, and says so (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from restorer.bundle import read_bundle
from restorer.extract.extractor import extract
from restorer.formats.base import EntryType
from restorer.private import default_private_dir
from restorer.restore.finish import finish_restore
from tests.archive.test_extract import craft_jpa

FILE = EntryType.FILE
DUMP = b"INSERT INTO `#__users` VALUES (1,'admin','$2y$10$secret.hash.of.the.admin')"


def _bundle_jpa(path):
    return craft_jpa(path, [
        ("index.html", FILE, 0o100644, b"site"),
        ("installation/restore.py", FILE, 0o100644, b"# the restorer's code"),
        ("installation/sql/databases.json", FILE, 0o100644, b'{"site.sql": {"tables": []}}'),
        ("installation/sql/site.sql", FILE, 0o100644, DUMP),
        ("installation/extrainfo.json", FILE, 0o100644, b'{"host": "old.example.com"}'),
        ("installation/password.json", FILE, 0o100644, b'{"algorithm": "scrypt"}'),
    ])


def test_a_bundle_s_data_is_written_owner_only_outside_the_site(tmp_path):
    site = tmp_path / "site"
    private = default_private_dir(site)
    report = extract(_bundle_jpa(tmp_path / "b.jpa"), site, private_dir=private)
    assert report.private_dir == str(private)
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*")) == [
        "index.html", "installation", "installation/restore.py"]
    assert (private / "sql" / "site.sql").read_bytes() == DUMP
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in private.rglob("*") if p.is_file()} == {"0o600"}


def test_a_plain_archive_keeps_its_installation_folder(tmp_path):
    """Joomla's own install package has an installation/ folder: not a bundle, so it stays."""
    archive = craft_jpa(tmp_path / "joomla.jpa", [("installation/index.php", FILE, 0o100644, b"<?php"),
                                                  ("installation/sql/joomla.sql", FILE, 0o100640, b"x")])
    site = tmp_path / "site"
    extract(archive, site, private_dir=default_private_dir(site))
    assert (site / "installation" / "index.php").read_bytes() == b"<?php"
    assert oct((site / "installation" / "sql" / "joomla.sql").stat().st_mode & 0o777) == "0o640"
    assert not default_private_dir(site).exists()


@pytest.mark.parametrize("keep", [False, True])
def test_finish_removes_the_archive_inside_the_site_never_one_elsewhere(tmp_path, keep):
    site = tmp_path / "site"
    site.mkdir()
    inside = _bundle_jpa(site / "upload.jpa")
    extract(inside, site, private_dir=default_private_dir(site))
    elsewhere = _bundle_jpa(tmp_path / "backups.jpa")
    other_site = tmp_path / "other"
    extract(elsewhere, other_site, private_dir=default_private_dir(other_site))
    result = finish_restore(read_bundle(site), "keep", None, keep_archive=keep)
    assert inside.exists() == keep and ("upload.jpa" in result.removed) != keep
    assert str(default_private_dir(site)) in result.removed and not default_private_dir(site).exists()
    finish_restore(read_bundle(other_site), "keep", None)
    assert elsewhere.is_file()


def test_files_left_in_the_web_root_by_another_tool_are_moved_out_first(tmp_path):
    site = tmp_path / "site"
    (site / "installation" / "sql").mkdir(parents=True)
    (site / "installation" / "sql" / "site.sql").write_bytes(DUMP)
    (site / "installation" / "sql" / "databases.json").write_text(json.dumps({"site.sql": {}}))
    (site / "installation" / "password.php").write_text("<?php define('AKEEBA_PASSHASH', 'x');")
    bundle = read_bundle(site)
    assert sorted(bundle.moved) == ["password.php", "sql"]
    assert list((site / "installation").iterdir()) == []
    assert (bundle.sql_dir / "site.sql").read_bytes() == DUMP and bundle.made_by == "akeeba"


def test_a_private_folder_inside_the_site_is_refused_with_what_to_do(tmp_path):
    archive = _bundle_jpa(tmp_path / "b.jpa")
    result = subprocess.run(["sitepack", "extract", str(archive), str(tmp_path / "site"),
                             "--private-dir", str(tmp_path / "site" / "private")],
                            capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode != 0
    assert "is inside the site folder" in result.stderr and "give --private-dir outside" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "site").exists()
