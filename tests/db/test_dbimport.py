"""Importer behaviour on the real server: plain dumps, collations, limits, reconnects."""

from __future__ import annotations

import subprocess

import pytest
from fidelity import info_for
from nasty import create_nasty

from harness.compare import definitions, table_hashes
from packer.dump import Dumper, DumpOptions
from restorer.dbimport.importer import Importer, import_plain_dump
from restorer.errors import DatabaseError

ENTRY = {"sqlfile": "site.sql", "parts": 1, "prefix": "jos_", "tables": ["#__t"],
         "marker": "\n/**ABDB**/"}


def test_plain_mariadb_dump_file_imports_exactly(db, db_factory, tmp_path):
    with db.connect() as conn:
        create_nasty(conn, "jos_", big_row=False)
        with conn.cursor() as cur:  # mariadb-dump prints FLOAT with 6 digits: keep it exact
            cur.execute("UPDATE jos_types SET fl = 0.5 WHERE fl <> 0")
    dump = tmp_path / "plain.sql"
    with open(dump, "wb") as out:
        subprocess.run(["mariadb-dump", *db.client_args(), "--single-transaction", "--hex-blob",
                        "--routines", "--triggers", db.database], env=db.client_env(), stdout=out,
                       check=True)
    assert dump.read_bytes().startswith(b"/*M!999999\\- enable the sandbox mode */")
    target = db_factory()
    assert import_plain_dump(info_for(target), dump) == []
    with db.connect() as a, target.connect() as b:
        assert table_hashes(b, "jos_") == table_hashes(a, "jos_")
        assert definitions(b, "jos_") == definitions(a, "jos_")


def write_dump(directory, *statements: bytes):
    directory.mkdir(exist_ok=True)
    (directory / "site.sql").write_bytes(b"".join(b"/**ABDB**/" + s + b";\n" for s in statements))
    return directory


def test_mysql8_collations_are_downgraded_with_a_warning(db, tmp_path):
    sql = write_dump(tmp_path / "sql",
                     b"CREATE TABLE `#__t` (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_0900_ai_ci "
                     b"COMMENT 'COLLATE utf8mb4_0900_ai_ci stays') DEFAULT CHARSET=utf8mb4 "
                     b"COLLATE=utf8mb4_0900_ai_ci",
                     b"INSERT INTO `#__t` VALUES (1,'x')")
    importer = Importer(info_for(db), sql, ENTRY, new_prefix="p_")
    assert importer.run()
    assert importer.warnings == ["The collation utf8mb4_0900_ai_ci is not available on this server; "
                                 "utf8mb4_unicode_520_ci is used instead."]
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COLLATION_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'p_t' AND COLUMN_NAME = 'name'")
        assert cur.fetchone() == ("utf8mb4_unicode_520_ci", "COLLATE utf8mb4_0900_ai_ci stays")


def test_statement_over_max_allowed_packet_gets_a_clear_error(mariadb, db, tmp_path):
    limited = "limited_" + db.database[-6:]
    with mariadb.root_connection() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{limited}'@'127.0.0.1' IDENTIFIED BY 'Limited-Pw-123'")
        cur.execute(f"GRANT ALL ON `{db.database}`.* TO '{limited}'@'127.0.0.1'")
        cur.execute("SELECT @@max_allowed_packet")
        limit = cur.fetchone()[0]
    try:
        payload = b"0x" + b"41" * (limit // 2 + 1024)
        sql = write_dump(tmp_path / "sql", b"CREATE TABLE `#__t` (id INT, b LONGBLOB)",
                         b"INSERT INTO `#__t` VALUES (1," + payload + b")")
        info = info_for(db)
        info.user, info.password = limited, "Limited-Pw-123"
        with pytest.raises(DatabaseError) as err:
            Importer(info, sql, ENTRY, new_prefix="p_").run()
        message = str(err.value)
        offset = (sql / "site.sql").read_bytes().index(b"/**ABDB**/INSERT")
        assert f"The statement at byte {offset} of site.sql is {len(payload) + 29:,} bytes" in message
        assert "more than the server's max_allowed_packet" in message and "Limited-Pw-123" not in message
        assert message.endswith("The statement begins: INSERT INTO `p_t` VALUES (1,0x" + "41" * 85)
    finally:
        with mariadb.root_connection() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER '{limited}'@'127.0.0.1'")


def test_server_gone_away_reconnects_and_finishes_without_duplicates(db, db_factory, tmp_path):
    with db.connect() as conn:
        create_nasty(conn, "jos_", big_row=False)
    dumper = Dumper(info_for(db), tmp_path / "sql", DumpOptions(prefix="jos_", packet_size=8 << 10))
    assert dumper.run()
    target = db_factory()
    importer = Importer(info_for(target), tmp_path / "sql", dumper.databases_json_entry(), new_prefix="n_")
    kills = 0
    with target.connect() as admin, admin.cursor() as cur:
        while not importer.run(budget_seconds=0):
            if importer._conn is not None and kills < 5 and importer.progress.statements % 3 == 0:
                cur.execute(f"KILL CONNECTION {importer._conn.thread_id()}")
                kills += 1
    assert kills == 5
    with db.connect() as a, target.connect() as b:
        source = table_hashes(a, "jos_")
        source["#__session"] = table_hashes(b, "n_")["#__session"]
        assert table_hashes(b, "n_") == source


def test_resume_from_a_state_saved_before_preparing_does_not_back_up_twice(db, db_factory, tmp_path):
    sql = write_dump(tmp_path / "sql", b"DROP TABLE IF EXISTS `#__t`", b"CREATE TABLE `#__t` (id INT PRIMARY KEY)",
                     b"INSERT INTO `#__t` VALUES (1)", b"CREATE TABLE `#__u` (id INT)", b"INSERT INTO `#__u` VALUES (2)")
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE p_t (old TEXT)")
        cur.execute("INSERT INTO p_t VALUES ('the old site')")
    importer = Importer(info_for(db), sql, ENTRY, new_prefix="p_", existing="backup")
    early_state = importer.state()          # what the caller had saved before the kill
    assert importer.run(budget_seconds=0) is False
    importer._close()                        # the process is killed here
    resumed = Importer.resume(early_state, info_for(db))
    assert resumed.run() is True
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT old FROM bak_t")
        assert cur.fetchall() == (("the old site",),)
        cur.execute("SELECT (SELECT id FROM p_t), (SELECT id FROM p_u)")
        assert cur.fetchone() == (1, 2)


def _drops_sent(server) -> int:
    with server.root_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Com_drop_table'")
        return int(cur.fetchone()[1])


def test_the_dump_drops_what_the_target_holds_and_no_drop_is_sent_for_absent_tables(mariadb, db, tmp_path):
    # "backup" leaves a table outside the prefix to the dump's own DROP; a table the dump
    # itself created before dropping it is dropped too; the absent #__t costs no DROP.
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE shared (id INT PRIMARY KEY, old TEXT)")
        cur.execute("INSERT INTO shared VALUES (1, 'stale'), (2, 'stale')")
    sql = write_dump(tmp_path / "sql",
                     b"DROP TABLE IF EXISTS `shared`",
                     b"CREATE TABLE `shared` (id INT PRIMARY KEY, v VARCHAR(10))",
                     b"INSERT INTO `shared` VALUES (7,'new')",
                     b"DROP TABLE IF EXISTS `#__t`",
                     b"CREATE TABLE `#__t` (id INT PRIMARY KEY) ENGINE=MyISAM",
                     b"INSERT INTO `#__t` VALUES (1),(2)",
                     b"CREATE TABLE `#__scratch` (id INT)",
                     b"DROP TABLE IF EXISTS `#__scratch`")
    entry = dict(ENTRY, tables=["shared", "#__t"])
    before = _drops_sent(mariadb)
    assert Importer(info_for(db), sql, entry, new_prefix="p_", existing="backup").run()
    # shared, p_scratch, and the import's own bookkeeping table at the end
    assert _drops_sent(mariadb) - before == 3
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM shared")
        assert cur.fetchall() == ((7, "new"),)
        cur.execute("SELECT id FROM p_t ORDER BY id")
        assert cur.fetchall() == ((1,), (2,))
        cur.execute("SHOW TABLES")
        assert sorted(name for name, in cur.fetchall()) == ["p_t", "shared"]
