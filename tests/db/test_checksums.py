"""The database that verifies itself: the dump's per-table checksums, computed again here from
the server's own SELECT of every row, and the restore's verification after an import."""

from __future__ import annotations

import hashlib
import json

import pytest
from fidelity import info_for
from nasty import create_nasty

from packer.dump import Dumper, DumpOptions
from packer.dump.mysql import UNSUMMED_WARNING
from restorer.dbimport.checksums import NO_RECORD, verify_database
from restorer.dbimport.importer import Importer

_BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry",
                 "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
                 "geometrycollection"}


def _quoted(text: bytes) -> bytes:
    """MariaDB's QUOTE(), written from its documentation: \\, ', NUL and Ctrl-Z escaped."""
    out = text.replace(b"\\", b"\\\\").replace(b"'", b"\\'").replace(b"\0", b"\\0").replace(b"\x1a", b"\\Z")
    return b"'" + out + b"'"


def _literal(kind: str, charset: str | None, value: bytes | None) -> bytes:
    """One value as the documented canonical form, from the raw bytes a plain SELECT returns."""
    if value is None:
        return b"NULL"
    if kind == "bit":
        return str(int.from_bytes(value, "big")).encode()
    if kind == "float":
        # selected as DOUBLE below: the exact stored value, shortest round-trip digits, no ".0"
        return repr(float(value)).removesuffix(".0").encode()
    if kind in {"tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "double", "year"}:
        return value
    if kind in _BINARY_TYPES or (charset and charset not in ("utf8mb4", "utf8mb3", "ascii")):
        return b"0x" + value.hex().upper().encode() if value else b"''"
    return _quoted(value)


def independent_sums(params, prefix: str) -> dict[str, tuple[int, int]]:
    """Every prefixed table's (rows, sum of row SHA-256 mod 2^256), from ``SELECT col, ...``."""
    import pymysql
    conn = pymysql.connect(host=params.host, port=params.port, user=params.user, password=params.password,
                           database=params.database, use_unicode=False, charset="utf8mb4",
                           # raw bytes for every column type (encoders kept for the query arguments)
                           conv={t: f for t, f in pymysql.converters.conversions.items() if not isinstance(t, int)})
    sums = {}
    with conn, conn.cursor() as cur:
        # UTC for TIMESTAMP; every text column's stored bytes, not converted for the client
        cur.execute("SET time_zone = '+00:00', character_set_results = binary")
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME LIKE %s", (prefix + "%",))
        for (table,) in cur.fetchall():
            table = table.decode()
            cur.execute("SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND EXTRA NOT LIKE '%%GENERATED%%' "
                        "ORDER BY ORDINAL_POSITION", (table,))
            columns = [(n.decode(), k.decode(), c.decode() if c else None) for n, k, c in cur.fetchall()]
            select = ", ".join(f"CAST(`{n}` AS DOUBLE)" if k == "float" else f"`{n}`" for n, k, _ in columns)
            cur.execute(f"SELECT {select} FROM `{table}`")
            total, rows = 0, 0
            for row in cur.fetchall():
                canonical = b"(" + b",".join(_literal(k, c, v) for (_, k, c), v in zip(columns, row)) + b")"
                total += int.from_bytes(hashlib.sha256(canonical).digest(), "big")
                rows += 1
            sums["#__" + table[len(prefix):]] = (rows, total % (1 << 256))
    return sums


@pytest.fixture
def nasty_db(db):
    with db.connect() as conn:
        create_nasty(conn, "jos_", big_row=False)
    return db


def _dump(source, out) -> Dumper:
    dumper = Dumper(info_for(source), out, DumpOptions(prefix="jos_", exclude_data=[], packet_size=32 << 10,
                                                       batch_rows=700))
    assert dumper.run() is True
    return dumper


def test_dump_checksums_equal_an_independent_hash_of_every_row_for_every_column_type(nasty_db, tmp_path):
    dumper = _dump(nasty_db, tmp_path / "sql")
    record = dumper.checksums_record()
    recorded = {name: (entry["rows"], int(entry["sum"], 16)) for name, entry in record["tables"].items()}
    expected = independent_sums(nasty_db, "jos_")
    assert recorded == expected
    # the duplicate rows of the key-less table count twice; the batched map table is all there
    assert recorded["#__nopk"][0] == 4 and recorded["#__map"][0] == 3000 and recorded["#__types"][0] == 6


def test_a_dump_resumed_in_a_new_process_records_the_same_checksums(nasty_db, tmp_path):
    whole = _dump(nasty_db, tmp_path / "whole").checksums_record()
    first = Dumper(info_for(nasty_db), tmp_path / "sliced", DumpOptions(prefix="jos_", exclude_data=[],
                                                                       packet_size=32 << 10, batch_rows=700))
    assert first.run(budget_seconds=0) is False
    state = first.state()
    first.close()
    resumed = Dumper.resume(state, info_for(nasty_db))
    while not resumed.run(budget_seconds=0):
        state = resumed.state()
        resumed.close()
        resumed = Dumper.resume(state, info_for(nasty_db))
    assert resumed.checksums_record() == whole


def test_a_dump_begun_by_an_older_sitepack_says_its_rows_cannot_be_verified_not_that_they_differ(
        nasty_db, db_factory, tmp_path):
    first = Dumper(info_for(nasty_db), tmp_path / "sql", DumpOptions(prefix="jos_", exclude_data=[],
                                                                    packet_size=32 << 10, batch_rows=700))
    for _ in range(12):  # a few tables and rows, one step at a time
        assert first.run(budget_seconds=0) is False
    state = first.state()
    first.close()
    assert state["checksums"]  # rows were summed before the upgrade...
    del state["checksums"]     # ...but the previous sitepack's state kept no sums
    resumed = Dumper.resume(state, info_for(nasty_db))
    assert resumed.run() is True

    assert resumed.warnings == [UNSUMMED_WARNING]
    importer = _import(resumed, tmp_path / "sql", db_factory(), "new_")
    assert importer.verification == (f"database not verified: {NO_RECORD}; check the restored site, or make "
                                     f"a new backup with this sitepack to have one that can be")
    assert not importer.warnings


def _import(dumper, sql_dir, target, prefix):
    import json

    from restorer.bundle import CHECKSUMS_JSON, SITE_DUMP
    (sql_dir / CHECKSUMS_JSON).write_text(json.dumps({SITE_DUMP: dumper.checksums_record()}))
    importer = Importer(info_for(target), sql_dir, dumper.databases_json_entry(), new_prefix=prefix)
    assert importer.run() is True
    return importer


def test_an_import_under_a_new_prefix_verifies_every_table(nasty_db, db_factory, tmp_path):
    dumper = _dump(nasty_db, tmp_path / "sql")
    importer = _import(dumper, tmp_path / "sql", db_factory(), "new_")
    rows = sum(entry["rows"] for entry in dumper.checksums_record()["tables"].values())
    assert importer.verification == f"database verified: 8 tables, {rows:,} rows, every checksum equal"
    assert not importer.warnings


@pytest.mark.proof("security", "rows lost or changed between dump and import, incl. a swapped pair of duplicate rows")
def test_a_row_lost_or_changed_after_the_dump_is_named(nasty_db, db_factory, tmp_path, proof):
    dumper = _dump(nasty_db, tmp_path / "sql")
    record = dumper.checksums_record()
    target = db_factory()
    _import(dumper, tmp_path / "sql", target, "new_")
    changes = {
        # one of two equal rows lost
        "DELETE FROM new_nopk WHERE a = 1 LIMIT 1": "new_nopk: 3 rows, the backup has 4",
        # a pair of equal rows replaced by another pair: an XOR of row hashes would not see it
        "UPDATE new_nopk SET a = 7, b = 'seven' WHERE a = 1": "new_nopk: 4 rows as in the backup, but their contents differ",
        # one byte of a binary value
        "UPDATE new_map SET v = CONCAT(v, 'x') WHERE a = 3 AND b = 'k1'": "new_map: 3,000 rows as in the backup, but their contents differ",
    }
    for change, named in changes.items():
        fresh = db_factory()
        _import(dumper, tmp_path / "sql", fresh, "new_")
        with fresh.connect() as conn, conn.cursor() as cur:
            cur.execute(change)
        result = verify_database(info_for(fresh), record, "new_")
        assert not result.ok and len(result.differences) == 1
        assert result.differences[0].startswith(named), result.differences
        assert "database NOT verified: 1 of 8 tables differ" in result.summary()
        proof.cases += 1
    proof.note(f"{proof.cases} changes, each named")


def _fruit_dump(source, sql_dir) -> Dumper:
    """A dump of an InnoDB, a MyISAM (several INSERTs) and an empty table, with one value of
    the first changed after its checksum was recorded (as a damaged or edited dump would be)."""
    with source.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE jos_a (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB")
        cur.execute("INSERT INTO jos_a VALUES (1, 'apple'), (2, 'pear')")
        cur.execute("CREATE TABLE jos_b (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=MyISAM")
        cur.execute("INSERT INTO jos_b SELECT seq, CONCAT('row ', seq) FROM seq_1_to_3000")
        cur.execute("CREATE TABLE jos_c (id INT PRIMARY KEY) ENGINE=InnoDB")
    dumper = _dump(source, sql_dir)
    dump = sql_dir / "site.sql"
    assert dump.read_bytes().count(b"'apple'") == 1 and dump.read_bytes().count(b"INSERT INTO `#__b`") > 1
    dump.write_bytes(dump.read_bytes().replace(b"'apple'", b"'apricot'"))
    return dumper


_FRUIT_VERDICT = ("database NOT verified: 1 of 3 tables differ from the backup: new_a: 2 rows as in "
                  "the backup, but their contents differ (checksum)")


def test_tables_checked_while_the_import_goes_on_are_named_as_before(db, db_factory, tmp_path):
    # Each table is checked on a second connection once its rows are in; the verdict is
    # the same as one check of every table at the end.
    importer = _import(_fruit_dump(db, tmp_path / "sql"), tmp_path / "sql", db_factory(), "new_")
    assert importer.verification == _FRUIT_VERDICT
    assert importer.warnings == [_FRUIT_VERDICT]


def test_an_import_resumed_slice_by_slice_still_checks_every_table(db, db_factory, tmp_path):
    # A new Importer per slice (a wizard restarted between requests): the tables imported
    # by earlier processes are checked at the end, none is left out.
    from restorer.bundle import CHECKSUMS_JSON, SITE_DUMP
    sql_dir = tmp_path / "sql"
    dumper = _fruit_dump(db, sql_dir)
    (sql_dir / CHECKSUMS_JSON).write_text(json.dumps({SITE_DUMP: dumper.checksums_record()}))
    target = info_for(db_factory())
    importer = Importer(target, sql_dir, dumper.databases_json_entry(), new_prefix="new_")
    slices = 1
    while not importer.run(budget_seconds=0):
        importer = Importer.resume(importer.state(), target)
        slices += 1
    assert slices > 5
    assert importer.verification == _FRUIT_VERDICT
