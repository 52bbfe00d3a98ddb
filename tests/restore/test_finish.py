"""The finish step: server files back, .htaccess as chosen, installation/ and kickstart gone."""

import json

import pytest

from restorer.bundle import read_bundle
from restorer.errors import SitepackError
from restorer.restore.finish import finish_restore


def _site(root, *, renamed=True, default=True):
    (root / "installation").mkdir(parents=True)
    (root / "installation" / "extrainfo.json").write_text("{}")
    (root / "index.php").write_text("<?php")
    if default:
        (root / "htaccess.txt").write_text("DEFAULT\n")
    names = [".htaccess", "web.config"]
    for name in names:
        (root / (f"{name}.bak" if renamed else name)).write_text(f"ARCHIVE {name}\n")
    (root / ".user.ini.bak").write_text("the site's own backup file, not renamed by extraction\n")
    if renamed:
        (root / "installation" / "renamed-files.json").write_text(json.dumps(names))
    (root / "kickstart.pyz").write_bytes(b"PK")
    return read_bundle(root)


@pytest.mark.parametrize("renamed", [True, False])
def test_keep_puts_the_archive_files_back(tmp_path, renamed):
    result = finish_restore(_site(tmp_path, renamed=renamed), "keep", "https://x.org")
    assert (tmp_path / ".htaccess").read_text() == "ARCHIVE .htaccess\n"
    assert (tmp_path / "web.config").read_text() == "ARCHIVE web.config\n"
    assert (tmp_path / ".user.ini.bak").exists() and not (tmp_path / ".user.ini").exists()
    assert not (tmp_path / "installation").exists() and not (tmp_path / "kickstart.pyz").exists()
    assert result.site_url == "https://x.org"
    assert "installation/" in result.removed and "kickstart.pyz" in result.removed


@pytest.mark.parametrize("renamed", [True, False])
def test_default_uses_htaccess_txt_and_keeps_the_archive_copy_as_bak(tmp_path, renamed):
    finish_restore(_site(tmp_path, renamed=renamed), "default", None)
    assert (tmp_path / ".htaccess").read_text() == "DEFAULT\n"
    assert (tmp_path / ".htaccess.bak").read_text() == "ARCHIVE .htaccess\n"


@pytest.mark.parametrize("renamed", [True, False])
def test_remove_leaves_no_htaccess(tmp_path, renamed):
    finish_restore(_site(tmp_path, renamed=renamed), "remove", None)
    assert not (tmp_path / ".htaccess").exists() and not (tmp_path / ".htaccess.bak").exists()
    assert (tmp_path / "web.config").exists()


def test_default_without_htaccess_txt_changes_nothing(tmp_path):
    bundle = _site(tmp_path, default=False)
    with pytest.raises(SitepackError, match="htaccess.txt is missing"):
        finish_restore(bundle, "default", None)
    assert (tmp_path / "installation").is_dir() and (tmp_path / ".htaccess.bak").exists()
