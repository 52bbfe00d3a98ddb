"""Headless restore (``sitepack restore DIR --answers FILE``) of sitepack and Akeeba bundles."""

import json
import subprocess

from harness.php import read_joomla_config
from tests.restore.bundles import (bundle_copy, demo_site, file_digests,  # noqa: F401 (fixture)
                                   php_password_verify, table_hashes)

NEW_URL = "https://new.example.org/site"


def _answers(target, *, prefix="new_", replace=False, installer_env=None):
    answers = {
        "db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "T_DBPW",
               "database": target.database, "prefix": prefix, "existing": "drop"},
        "site": {"live_site": NEW_URL, "site_name": "Restored 'quoted' $site \\ ünï", "htaccess": "keep"},
        "super_user": {"email": "new-admin@example.org", "password_env": "T_ADMINPW"},
        "replace": {"enabled": replace},
    }
    if installer_env:
        answers["installer_password_env"] = installer_env
    return answers


def _restore(site_dir, answers, tmp_path, env_extra):
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers))
    env = dict(__import__("os").environ, T_DBPW=env_extra["db"], T_ADMINPW="n3w Pässword!", **env_extra.get("more", {}))
    return subprocess.run(["sitepack", "restore", str(site_dir), "--answers", str(answers_file)],
                          capture_output=True, text=True, env=env)


def _check_round_trip(site, restored, target, prefix, php_password):
    assert not (restored / "installation").exists()
    origin_files = file_digests(site.root)
    restored_files = file_digests(restored)
    origin_files.pop("configuration.php")
    restored_files.pop("configuration.php")
    assert restored_files == origin_files
    before = table_hashes(site.db, site.prefix)
    after = table_hashes(target, prefix)
    assert after.keys() == before.keys()
    assert after.pop("#__users")[0] == before.pop("#__users")[0]
    assert after == before
    conf = read_joomla_config(restored / "configuration.php")
    assert conf["db"] == target.database and conf["dbprefix"] == prefix
    assert conf["host"] == f"{target.host}:{target.port}"
    assert conf["live_site"] == NEW_URL
    assert conf["sitename"] == "Restored 'quoted' $site \\ ünï"
    assert conf["tmp_path"] == str(restored / "tmp")
    assert conf["secret"] != site.config["secret"]
    for key in ("mailfrom", "fromname", "cookie_domain", "list_limit", "offline_message", "editor"):
        assert conf[key] == site.config[key], key
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT email, password FROM `{prefix}users` WHERE username = %s",
                    (site.super_user["username"],))
        email, stored = cur.fetchone()
    assert email == "new-admin@example.org"
    assert stored.startswith("$2y$10$")
    assert php_password_verify(php_password, stored) is True


def test_headless_restore_of_a_sitepack_bundle_round_trips(tmp_path, demo_site, db_factory, php):
    site = demo_site
    restored = bundle_copy(site, tmp_path / "restored", password="inst all")
    target = db_factory()
    result = _restore(restored, _answers(target, installer_env="T_INSTPW"), tmp_path,
                      {"db": target.password, "more": {"T_INSTPW": "inst all"}})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "database site.sql: 100.0%" in result.stdout
    assert target.password not in result.stdout + result.stderr
    _check_round_trip(site, restored, target, "new_", "n3w Pässword!")


def test_headless_restore_refuses_a_wrong_installer_password(tmp_path, demo_site, db_factory):
    site = demo_site
    restored = bundle_copy(site, tmp_path / "restored", password="right")
    target = db_factory()
    result = _restore(restored, _answers(target, installer_env="T_INSTPW"), tmp_path,
                      {"db": target.password, "more": {"T_INSTPW": "wrong"}})
    assert result.returncode == 1
    assert "error: the installer password in the answers is wrong" in result.stderr
    assert (restored / "installation").is_dir()


def test_headless_restore_of_an_akeeba_bundle_never_runs_its_php(tmp_path, demo_site, db_factory, php):
    site = demo_site
    restored = bundle_copy(site, tmp_path / "restored", password="ak pass", akeeba=True)
    assert len(list((restored / "installation" / "sql").glob("site.s*"))) > 2
    target = db_factory()
    result = _restore(restored, _answers(target, prefix="ak2_", installer_env="T_INSTPW"), tmp_path,
                      {"db": target.password, "more": {"T_INSTPW": "ak pass"}})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from an Akeeba Backup backup" in result.stdout
    assert not (restored / "RAN-PHP").exists()
    _check_round_trip(site, restored, target, "ak2_", "n3w Pässword!")


def test_headless_restore_replaces_the_old_url(tmp_path, demo_site, db_factory, php):
    site = demo_site
    restored = bundle_copy(site, tmp_path / "restored")
    target = db_factory()
    answers = _answers(target, replace=True)
    answers["replace"]["tables"] = "all"
    config = restored / "configuration.php"
    crlf = config.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    config.write_bytes(crlf)  # a configuration saved on Windows keeps its line ends
    result = _restore(restored, answers, tmp_path, {"db": target.password})
    rewritten = config.read_bytes()
    assert rewritten.count(b"\n") == rewritten.count(b"\r\n") == crlf.count(b"\r\n")
    assert read_joomla_config(config)["dbprefix"] == "new_"
    # A stock site restores cleanly: exit 0, no warning (Joomla's keyless #__fields_values too).
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower()
    assert "replace data: 100.0%" in result.stdout
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM new_content WHERE introtext LIKE %s OR `fulltext` LIKE %s",
                    (f"%{site.live_site}/%", f"%{site.live_site}/%"))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM new_content WHERE introtext LIKE %s OR `fulltext` LIKE %s",
                    (f"%{NEW_URL}/%", f"%{NEW_URL}/%"))
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT value FROM new_fields_values WHERE value LIKE '%//%' ORDER BY value")
        assert [v for (v,) in cur.fetchall()] == [
            f'<a href="{NEW_URL}/index.php/blog">blog</a>', f'<a href="{NEW_URL}/index.php/blog">blog</a>',
            f"{NEW_URL}/images/headers/header-01.jpg"]


def test_every_database_of_the_bundle_is_restored(tmp_path, demo_site, db_factory, php):
    from packer.dump.mysql import DumpOptions, Dumper
    from tests.restore.bundles import conn_info

    site = demo_site
    restored = bundle_copy(site, tmp_path / "restored")
    extra = db_factory()
    with extra.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE shop_orders (id INT PRIMARY KEY, note TEXT)")
        cur.executemany("INSERT INTO shop_orders VALUES (%s, %s)", [(i, f"order #__{i} ✓") for i in range(50)])
    sql = restored / "installation" / "sql"
    dumper = Dumper(conn_info(extra), sql, DumpOptions(prefix="shop_", basename="shop"))
    while not dumper.run(30):
        pass
    listing = json.loads((sql / "databases.json").read_text())
    listing["shop.sql"] = dumper.databases_json_entry()
    (sql / "databases.json").write_text(json.dumps(listing))
    target, shop_target = db_factory(), db_factory()
    answers = _answers(target)
    answers["databases"] = {"shop.sql": {"host": shop_target.host, "port": shop_target.port,
                                         "user": shop_target.user, "password_env": "T_SHOPPW",
                                         "database": shop_target.database, "prefix": "s2_"}}
    result = _restore(restored, answers, tmp_path, {"db": target.password,
                                                    "more": {"T_SHOPPW": shop_target.password}})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "database shop.sql: 100.0%" in result.stdout
    assert table_hashes(shop_target, "s2_") == {"#__orders": table_hashes(extra, "shop_")["#__orders"]}


def test_missing_answers_for_a_database_are_named(tmp_path, demo_site, db_factory):
    site = demo_site
    restored = bundle_copy(site, tmp_path / "restored")
    answers = _answers(db_factory())
    del answers["db"]
    result = _restore(restored, answers, tmp_path, {"db": "x"})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: the backup holds database dump site.sql: give its settings in answers.db"


def test_generic_site_with_marker_split_sql_over_parts(tmp_path, db_factory):
    """Format facts: statements start with /**ABDB**/, spread over site.sql and site.s01;
    #__ is swapped outside string literals only."""
    root = tmp_path / "site"
    sql = root / "installation" / "sql"
    sql.mkdir(parents=True)
    (root / "index.php").write_text("<?php echo 'generic';")
    (sql / "site.sql").write_bytes(
        b"/**ABDB**/DROP TABLE IF EXISTS `#__notes`;\n"
        b"/**ABDB**/CREATE TABLE `#__notes` (id INT PRIMARY KEY, body TEXT, KEY `#__idx` (body(10))) "
        b"DEFAULT CHARSET=utf8mb4;\n")
    (sql / "site.s01").write_bytes(
        b"/**ABDB**/INSERT INTO `#__notes` VALUES (1,'{\"dbtable\":\"#__weblinks\"}'),(2,'a;\\n/**ABDB** b');\n"
        b"/**ABDB**/CREATE TABLE `other_table` (x INT);\n")
    (sql / "databases.json").write_text(json.dumps({"site.sql": {
        "dbtype": "mysqli", "dbtech": "mysql", "dbname": "old", "sqlfile": "site.sql", "marker": "\n/**ABDB**/",
        "dbhost": "localhost", "dbport": "", "dbuser": "old", "dbpass": "", "prefix": "gx_", "parts": 2,
        "tables": ["#__notes"]}}))
    target = db_factory()
    answers = {"db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "T_DBPW",
                      "database": target.database, "prefix": "g2_"}}
    result = _restore(root, answers, tmp_path, {"db": target.password})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "restoring generic site" in result.stdout
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT id, body FROM g2_notes ORDER BY id")
        assert cur.fetchall() == ((1, '{"dbtable":"#__weblinks"}'), (2, "a;\n/**ABDB** b"))
        cur.execute("SHOW TABLES")
        assert sorted(r[0] for r in cur.fetchall()) == ["g2_notes", "other_table"]
    assert not (root / "installation").exists() and (root / "index.php").exists()


def _import_and_replace(site_dir, target, budget: float, pairs) -> tuple[int, int]:
    """Imports the site dump into ``target`` and replaces ``pairs`` in every table, each
    step in a new ``RestoreSession`` (as after a kill: only the saved state carries over);
    returns the number of sessions each step used."""
    from restorer.restore.answers import DbAnswers
    from restorer.restore.session import RestoreSession

    answers = {"host": target.host, "port": target.port, "user": target.user, "password": target.password,
               "database": target.database, "prefix": "new_", "existing": "drop"}
    imports = replaces = 0
    while True:
        session = RestoreSession(site_dir)
        session.set_database("site.sql", DbAnswers.parse(answers, "db"))
        imports += 1
        if session.import_step("site.sql", budget).done:
            break
    tables = session.all_tables()
    while True:
        session = RestoreSession(site_dir)
        session.set_database("site.sql", DbAnswers.parse(answers, "db"))
        replaces += 1
        if session.replace_step(pairs, tables, dry_run=False, budget_seconds=budget).done:
            break
    state = session.bundle.state_path
    assert state.stat().st_mode & 0o777 == 0o600 and target.password not in state.read_text()
    return imports, replaces


def test_a_restore_resumed_from_its_saved_state_at_every_step_ends_like_an_unbroken_one(
        tmp_path, demo_site, db_factory):
    """The typed session state (restorer.restore.session.SessionState) round-trips through
    .restore-state.json: an import and a replacement continued by a new session after
    every step give the rows of one unbroken run."""
    pairs = [(demo_site.live_site, NEW_URL)]
    unbroken, resumed = db_factory(), db_factory()
    assert _import_and_replace(bundle_copy(demo_site, tmp_path / "a"), unbroken, 3600.0, pairs) == (1, 1)
    imports, replaces = _import_and_replace(bundle_copy(demo_site, tmp_path / "b"), resumed, 0.0, pairs)
    assert imports > 2 and replaces > 2, (imports, replaces)
    assert table_hashes(resumed, "new_") == table_hashes(unbroken, "new_")
    with resumed.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM new_content WHERE introtext LIKE %s", (f"%{NEW_URL}/%",))
        assert cur.fetchone()[0] > 0
