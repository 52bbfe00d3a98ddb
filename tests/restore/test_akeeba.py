"""Reading an extracted bundle's installation/ folder (Akeeba's layout, which sitepack follows)."""

import json

import pytest

from restorer.bundle import read_bundle
from restorer.errors import SitepackError


def _bundle(root, *, akeeba):
    inst = root / "installation"
    (inst / "sql").mkdir(parents=True)
    (root / "configuration.php").write_text("<?php\nclass JConfig {\n public $db = 'x';\n}\n")
    (inst / "sql" / "databases.json").write_text(json.dumps({
        "extra.sql": {"dbname": "extra", "prefix": "ex_", "parts": 1, "tables": ["#__a"]},
        "site.sql": {"dbname": "site", "prefix": "jos_", "parts": 3, "tables": ["#__b", "#__c"]}}))
    (inst / "extrainfo.json").write_text(json.dumps({"host": "www.old.org", "backup_date": "2026-01-02 03:04:05",
                                                      "akeeba_version": "9.1", "root": "/var/www/old"}))
    (inst / "README.html").write_text("<p>hello</p>")
    if akeeba:
        (inst / "index.php").write_text("<?php // ANGIE")
    else:
        (inst / "sitepack-manifest.tsv.gz").write_text("")


def test_akeeba_layout_with_several_databases(tmp_path):
    _bundle(tmp_path, akeeba=True)
    bundle = read_bundle(tmp_path)
    assert list(bundle.databases) == ["site.sql", "extra.sql"]  # the site's own first
    assert bundle.databases["extra.sql"]["sqlfile"] == "extra.sql"
    assert bundle.made_by == "akeeba" and bundle.platform == "joomla"
    assert bundle.readme_html == "<p>hello</p>"
    assert ("Origin host", "www.old.org") in bundle.info_rows()
    assert ("Made by Akeeba Backup", "9.1") in bundle.info_rows()
    assert bundle.original_root() == "/var/www/old"


def test_sitepack_bundle_is_recognised_by_its_manifest(tmp_path):
    _bundle(tmp_path, akeeba=False)
    assert read_bundle(tmp_path).made_by == "sitepack"


def test_a_folder_without_installation_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(SitepackError, match="no restore data for .* extract a full site backup there first"):
        read_bundle(tmp_path)


def test_broken_databases_json_names_the_file(tmp_path):
    (tmp_path / "installation" / "sql").mkdir(parents=True)
    (tmp_path / "installation" / "sql" / "databases.json").write_text("{nope")
    with pytest.raises(SitepackError, match="databases.json is not valid JSON"):
        read_bundle(tmp_path)


@pytest.mark.parametrize("manifest", ["sitepack-manifest.tsv.gz", "sitepack-manifest.jsonl"])
def test_a_bundle_with_php_files_is_ours_when_it_holds_our_manifest(tmp_path, manifest):
    """Either manifest version (version 1 from archives made before) marks the bundle as
    sitepack's, even beside a PHP file."""
    _bundle(tmp_path, akeeba=True)
    (tmp_path / "installation" / manifest).write_text("")
    assert read_bundle(tmp_path).made_by == "sitepack"
