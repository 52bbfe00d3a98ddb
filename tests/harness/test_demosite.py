"""The demo site is what every round-trip test compares against: check it holds what it promises."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import bcrypt
import pytest

from harness.demosite import BASE_MTIME, build_demo_site
from harness.php import read_joomla_config, run_php


@pytest.fixture(scope="module")
def site(tmp_path_factory, mariadb, php):
    """One demo build shared by this module's tests (they only read it, except the trigger check)."""
    db = mariadb.create_database()
    yield build_demo_site(tmp_path_factory.mktemp("demo") / "site", db)
    mariadb.drop_database(db.database)


def _tree_digest(root: Path) -> dict[str, tuple]:
    """Every entry under root: bytes hash and mtime for files, target for links."""
    tree = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            tree[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            tree[rel] = ("dir", path.stat().st_mtime)
        else:
            tree[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime)
    return tree


def test_php_reads_configuration_back_exactly(site):
    assert read_joomla_config(site.root / "configuration.php") == site.config
    config = site.config
    assert config["password"] == "s3cr'et\"Pa\\ss$word{$x}\\n;#%"
    assert config["host"] == f"127.0.0.1:{site.db.port}"
    assert config["db"] == site.db.database and config["user"] == site.db.user
    assert config["dbprefix"] == "jos_" and config["dbtype"] == "mysqli"
    assert config["tmp_path"] == str(site.root / "tmp")
    assert config["log_path"] == str(site.root / "administrator" / "logs")
    assert config["log_priorities"] == ["all"]
    assert "\n" in config["offline_message"] and "🚀" in config["sitename"]
    assert len(config) > 80


def test_the_configured_account_really_connects(site):
    with site.db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER(), DATABASE()")
        user, database = cur.fetchone()
    assert user.startswith(site.config["user"] + "@") and database == site.config["db"]


def test_file_tree_layout(site):
    root = site.root
    assert 1500 <= site.file_count <= 2500
    assert 1_000_000 <= site.total_bytes <= 10_000_000
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert len(files) == site.file_count
    for rel in ("index.php", ".htaccess", "htaccess.txt", "web.config.txt", "configuration.php",
                "administrator/index.php", "libraries/src/Version.php", "images/café/übersicht 1.jpg",
                "images/日本語/写真.png", "cache/index.html", "tmp/index.html", "administrator/logs/error.php"):
        assert (root / rel).is_file(), rel
    assert (root / "images/uploads-empty").is_dir() and not any((root / "images/uploads-empty").iterdir())
    link = root / "images/latest-banner.jpg"
    assert link.is_symlink() and os.readlink(link) == "banners/banner-001.jpg"
    assert link.resolve().is_relative_to(root.resolve())
    assert (root / "images/café/übersicht 1.jpg").read_bytes()[:4] == b"\xff\xd8\xff\xe0"
    assert (root / "images/joomla_black.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(p.stat().st_mtime >= BASE_MTIME for p in files)
    for folder in site.skipped_dirs:
        assert len(list((root / folder).iterdir())) >= 2, f"{folder} should hold junk besides index.html"
    version = (root / "libraries/src/Version.php").read_text()
    assert "MAJOR_VERSION = 4" in version and site.platform_version == "4.4.9"


def test_same_seed_gives_identical_files(tmp_path, db_factory, site):
    again = build_demo_site(tmp_path / "again", db_factory())
    first, second = _tree_digest(site.root), _tree_digest(again.root)
    # configuration.php differs only in the database name and account made for each build.
    first.pop("configuration.php"), second.pop("configuration.php")
    assert first == second


def _query(site, sql, args=None):
    with site.db.connect() as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_database_holds_the_promised_data(site):
    p = site.prefix
    assert site.row_counts[f"{p}content"] == 60 and site.row_counts[f"{p}action_logs"] == 400
    tables = {row[0]: row[1] for row in _query(site, "SHOW FULL TABLES")}
    assert {t: "BASE TABLE" for t in site.tables + site.unprefixed_tables}.items() <= tables.items()
    assert tables[f"{p}content_published"] == "VIEW"

    # super user: bcrypt hash that PHP accepts, in group 8
    (password_hash,) = _query(site, f"SELECT u.password FROM `{p}users` u JOIN `{p}user_usergroup_map` m "
                                    f"ON m.user_id = u.id WHERE m.group_id = 8 AND u.username = %s",
                              (site.super_user["username"],))[0]
    assert password_hash.startswith("$2y$10$")
    assert bcrypt.checkpw(site.super_user["password"].encode(), password_hash.encode())
    encoded = base64.b64encode(site.super_user["password"].encode()).decode()
    verified = run_php(f"echo password_verify(base64_decode('{encoded}'), '{password_hash}') ? 'yes' : 'no';")
    assert verified == "yes"

    # 4-byte UTF-8 and the live site URL inside articles
    intro = _query(site, f"SELECT introtext FROM `{p}content` WHERE id = 1")[0][0]
    assert "😀" in intro and site.live_site in intro
    # JSON with escaped slashes and PHP-serialized values holding the URL
    escaped = site.live_site.replace("/", "\\/")
    params = [r[0] for r in _query(site, f"SELECT params FROM `{p}modules`")]
    assert any(escaped in value for value in params)
    serialized = _query(site, f"SELECT content FROM `{p}modules` WHERE title = 'Legacy serialized'")[0][0]
    assert run_php("var_export(is_array(unserialize(stream_get_contents(STDIN))));",
                   stdin=serialized.encode()) == "true"
    assert site.live_site in serialized
    tables_json = [r[0] for r in _query(site, f"SELECT `table` FROM `{p}content_types`")]
    assert any('{"special":{"dbtable":"#__content"' in t for t in tables_json)

    # every byte value, NULL next to empty
    blob = _query(site, f"SELECT payload FROM `{p}sitepack_samples` WHERE label = 'every byte 0..255'")[0][0]
    assert blob == bytes(range(256))
    nulls = _query(site, f"SELECT payload IS NULL, payload = '' FROM `{p}sitepack_samples` "
                         f"WHERE label IN ('NULL blob', 'empty blob') ORDER BY label")
    assert nulls == ((0, 1), (1, None))
    notes = {r[0] for r in _query(site, f"SELECT note IS NULL FROM `{p}content`")}
    empties = _query(site, f"SELECT COUNT(*) FROM `{p}content` WHERE note = ''")[0][0]
    assert notes == {0, 1} and empties > 0

    assert _query(site, f"SELECT COUNT(*) FROM `{p}session`")[0][0] == 5


def test_database_objects_work(site):
    p = site.prefix
    published = _query(site, f"SELECT COUNT(*) FROM `{p}content_published`")[0][0]
    assert published == _query(site, f"SELECT COUNT(*) FROM `{p}content` WHERE state = 1")[0][0] > 0
    with site.db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CALL `{p}count_published`(@n)")
        cur.execute("SELECT @n")
        assert cur.fetchone()[0] == published
        cur.execute(f"SELECT `{p}article_url`(7)")
        assert cur.fetchone()[0] == site.live_site + "/index.php?option=com_content&view=article&id=7"
        cur.execute(f"UPDATE `{p}content` SET hits = hits + 1 WHERE id = 1")
        cur.execute(f"SELECT version FROM `{p}content` WHERE id = 1")
        assert cur.fetchone()[0] == 2  # the trigger bumped it
    foreign_keys = _query(site, "SELECT TABLE_NAME, REFERENCED_TABLE_NAME FROM "
                                "information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s",
                          (site.db.database,))
    assert set(foreign_keys) == {(f"{p}user_usergroup_map", f"{p}users"),
                                 (f"{p}user_usergroup_map", f"{p}usergroups"),
                                 (f"{p}content", f"{p}categories")}
    assert [row[0] for row in _query(site, "SHOW TRIGGERS")] == site.triggers
