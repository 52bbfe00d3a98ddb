import pytest

from packer.filters import EXCLUDE, INCLUDE, SKIP_CONTENTS, Filters
from restorer.errors import SitepackError


def test_rules_on_relative_paths(tmp_path):
    f = Filters.for_site({"exclude_dirs": ["images/private/"], "exclude_files": ["./robots.txt"],
                          "exclude_regex": [r"\.bak$"], "skip_dir_contents": ["media/big"]},
                         site_root=tmp_path, tmp_path=str(tmp_path / "mytmp"),
                         log_path="/var/log/elsewhere")
    assert f.dir_rule("images/private") == EXCLUDE
    assert f.dir_rule("images") == INCLUDE
    assert f.dir_rule("media/big") == SKIP_CONTENTS
    assert f.dir_rule("old.bak") == EXCLUDE
    assert f.file_excluded("robots.txt")
    assert not f.file_excluded("sub/robots.txt")
    assert f.file_excluded("a/b/file.php.bak")
    # Akeeba's defaults, plus the site's tmp folder (its log folder is outside the site)
    for rel in ("cache", "tmp", "administrator/cache", "administrator/logs", "mytmp"):
        assert f.dir_rule(rel) == SKIP_CONTENTS, rel
    assert f.file_excluded("error_log") and f.file_excluded("administrator/error_log")
    assert not f.file_excluded("error_log.txt")


def test_defaults_can_be_switched_off(tmp_path):
    f = Filters.for_site({}, site_root=tmp_path, defaults=False)
    assert f.dir_rule("cache") == INCLUDE
    assert not f.file_excluded("error_log")


def test_bad_rules_are_refused_clearly(tmp_path):
    with pytest.raises(SitepackError, match=r"not a valid regular expression"):
        Filters.for_site({"exclude_regex": ["(unclosed"]}, site_root=tmp_path)
    with pytest.raises(SitepackError, match="leaves the site root"):
        Filters.for_site({"exclude_dirs": ["../etc"]}, site_root=tmp_path)
