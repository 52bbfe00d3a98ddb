"""Dump the nasty table set, import it under another prefix, compare on the server."""

from __future__ import annotations

import json

import pytest
from fidelity import info_for
from nasty import create_nasty

from harness.compare import definitions, table_hashes
from packer.dump import Dumper, DumpOptions
from restorer.dbimport.importer import Importer
from restorer.errors import DatabaseError


@pytest.fixture
def nasty_db(db):
    with db.connect() as conn:
        create_nasty(conn, "jos_")
    return db


def dump(source, out, **options) -> Dumper:
    dumper = Dumper(info_for(source), out, DumpOptions(prefix="jos_", **options))
    assert dumper.run() is True
    return dumper


def test_nasty_tables_survive_dump_and_import_under_a_new_prefix(nasty_db, db_factory, tmp_path):
    dumper = dump(nasty_db, tmp_path / "sql", split_size=1 << 20, packet_size=64 << 10)
    entry = dumper.databases_json_entry()
    assert entry["parts"] == len(dumper.files) > 1
    assert [p.name for p in dumper.files][:2] == ["site.sql", "site.s01"]
    assert entry["marker"] == "\n/**ABDB**/" and entry["dbpass"] == "" and entry["prefix"] == "jos_"
    assert "#__types" in entry["tables"] and "other_table" not in entry["tables"]
    json.dumps(entry)

    target = db_factory()
    importer = Importer(info_for(target), tmp_path / "sql", entry, new_prefix="new_")
    assert importer.run() is True

    with nasty_db.connect() as a, target.connect() as b:
        source_hashes, target_hashes = table_hashes(a, "jos_"), table_hashes(b, "new_")
        assert target_hashes.pop("#__session") == (0, table_hashes(b, "new_")["#__session"][1])
        assert source_hashes.pop("#__session")[0] == 1  # Akeeba default: no session data
        assert target_hashes == source_hashes
        assert definitions(b, "new_") == definitions(a, "jos_")
        with b.cursor() as cur:
            cur.execute("SHOW TABLES")
            assert sorted(r[0] for r in cur.fetchall()) == [
                "new_a_view_on_view", "new_big", "new_child", "new_latin1", "new_map", "new_nopk",
                "new_parent", "new_session", "new_types", "new_z_base_view"]
            # literal "#__" and the old prefix inside data come back unchanged
            cur.execute("SELECT vc, tx FROM new_types WHERE id = 4")
            assert cur.fetchone() == ("#__content", "SELECT * FROM `#__users` WHERE a='#__'")
            cur.execute("SELECT JSON_VALUE(js, '$.dbtable'), HEX(pt), ST_SRID(pt) FROM new_types WHERE id = 3")
            assert cur.fetchone() == ("#__weblinks", "E6100000010100000000000000 0000F83F000000000000 02C0".replace(" ", ""), 4326)
            cur.execute("SELECT LENGTH(payload) FROM new_big WHERE id = 2")
            assert cur.fetchone()[0] >= 16 * 1024 * 1024 - 1027
            cur.execute("SHOW CREATE TABLE new_child")
            create = cur.fetchone()[1]
            assert "CONSTRAINT `new_fk_child_parent` FOREIGN KEY (`parent_id`) REFERENCES `new_parent`" in create
            assert "KEY `new_idx_parent`" in create
            # the routines, the trigger and the view on a view work in the new database
            cur.execute("CALL new_count_children(1, @total)")
            cur.execute("SELECT @total, new_label(7)")
            assert cur.fetchone() == (2, "jos_label: 7 #__")
            cur.execute("INSERT INTO new_child (parent_id) VALUES (2)")
            cur.execute("SELECT note FROM new_child ORDER BY id DESC LIMIT 1")
            assert cur.fetchone()[0] == "#__ default"
            cur.execute("SELECT id, title FROM new_a_view_on_view ORDER BY id")
            assert cur.fetchall() == ((2, "one"), (3, "two"), (4, "two"))


def test_every_statement_is_marked_and_definers_are_gone(nasty_db, tmp_path):
    dumper = dump(nasty_db, tmp_path / "sql", packet_size=32 << 10)
    text = b"".join(p.read_bytes() for p in dumper.files)
    assert text.startswith(b"/**ABDB**/") and text.endswith(b";\n")
    statements = text.split(b"\n/**ABDB**/")
    assert all(s.endswith(b";") for s in statements[:-1])
    assert b"DEFINER" not in text.replace(b"SQL SECURITY DEFINER", b"")
    assert b"jos_" not in b"".join(s for s in statements if not s.startswith(b"INSERT")).replace(
        b"'jos_not_a_table'", b"").replace(b"'jos_label: '", b"")
    inserts = [s for s in statements if s.startswith(b"INSERT INTO `#__map`")]
    assert len(inserts) > 1 and all(len(s) <= 32 << 10 for s in inserts)
    assert b"`gv`" not in b"".join(s for s in statements if s.startswith(b"INSERT INTO `#__types`"))


def test_exclusions_and_extra_tables(nasty_db, db_factory, tmp_path):
    dumper = dump(nasty_db, tmp_path / "sql", extra_tables=["other_table"],
                  exclude_tables=["jos_big", "re:^#__a_view"], exclude_data=["re:_map$"])
    entry = dumper.databases_json_entry()
    assert "other_table" in entry["tables"] and "#__big" not in entry["tables"]
    assert "#__a_view_on_view" not in entry["tables"]
    target = db_factory()
    Importer(info_for(target), tmp_path / "sql", entry, new_prefix="x_").run()
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT v FROM other_table")
        assert cur.fetchall() == (("other",),)
        cur.execute("SELECT COUNT(*) FROM x_map")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM x_session")  # explicit exclude_data replaces the defaults
        assert cur.fetchone()[0] == 1
        cur.execute("SHOW TABLES LIKE 'x_big'")
        assert cur.fetchall() == ()


def test_dump_is_one_snapshot_while_the_site_writes(nasty_db, tmp_path):
    dumper = Dumper(info_for(nasty_db), tmp_path / "sql",
                    DumpOptions(prefix="jos_", batch_rows=100))
    assert dumper.run(budget_seconds=0) is False   # the snapshot is taken now
    with nasty_db.connect() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO jos_map VALUES (999999, 'late', NULL)")
        cur.execute("DELETE FROM jos_parent WHERE id = 0")
    while not dumper.run(budget_seconds=0):
        pass
    text = b"".join(p.read_bytes() for p in dumper.files)
    assert b"'late'" not in text and b"(0,'zero id')" in text


def test_existing_tables_backup_mode_renames_to_bak(nasty_db, db_factory, tmp_path):
    dumper = dump(nasty_db, tmp_path / "sql")
    target = db_factory()
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE new_parent (id INT PRIMARY KEY, title TEXT)")
        cur.execute("INSERT INTO new_parent VALUES (42, 'old site')")
        cur.execute("CREATE TABLE new_unrelated (id INT)")
        cur.execute("CREATE TABLE keepme (id INT)")
    Importer(info_for(target), tmp_path / "sql", dumper.databases_json_entry(),
             new_prefix="new_", existing="backup").run()
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT title FROM bak_parent")
        assert cur.fetchall() == (("old site",),)
        cur.execute("SHOW TABLES")
        tables = {r[0] for r in cur.fetchall()}
        assert {"bak_unrelated", "keepme", "new_parent"} <= tables and "new_unrelated" not in tables
        assert "sitepack_import_progress" not in tables


def test_drop_prefix_and_drop_all_modes(nasty_db, db_factory, tmp_path):
    dumper = dump(nasty_db, tmp_path / "sql")
    for mode, survivor in (("drop_prefix", True), ("drop_all", False)):
        target = db_factory()
        with target.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE new_stale (id INT)")
            cur.execute("CREATE TABLE keepme (id INT)")
        Importer(info_for(target), tmp_path / "sql", dumper.databases_json_entry(),
                 new_prefix="new_", existing=mode).run()
        with target.connect() as conn, conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            tables = {r[0] for r in cur.fetchall()}
            assert "new_stale" not in tables and ("keepme" in tables) is survivor
            assert "new_types" in tables


def test_a_failing_statement_names_file_offset_and_text(nasty_db, db_factory, tmp_path):
    dumper = dump(nasty_db, tmp_path / "sql")
    site = tmp_path / "sql" / "site.sql"
    data = site.read_bytes()
    broken = data.replace(b"INSERT INTO `#__parent` (`id`,`title`) VALUES",
                          b"INSERT INTO `#__parent` (`id`,`nope`) VALUES", 1)
    site.write_bytes(broken)
    offset = broken.index(b"/**ABDB**/INSERT INTO `#__parent`")
    target = db_factory()
    importer = Importer(info_for(target), tmp_path / "sql", dumper.databases_json_entry(), new_prefix="new_")
    with pytest.raises(DatabaseError) as err:
        importer.run()
    message = str(err.value)
    assert f"at byte {offset} of site.sql" in message
    assert "Unknown column 'nope'" in message
    assert "The statement begins: INSERT INTO `new_parent` (`id`,`nope`) VALUES (0,'zero id')" in message
    assert target.password not in message
