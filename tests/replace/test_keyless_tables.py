"""Tables without a primary key are rewritten too (issue 21, item 2), on a real MariaDB.

A stock Joomla's ``#__fields_values`` has no key at all, and custom field values hold
URLs. Rows are addressed by a unique key on NOT NULL columns when there is one, else by
the whole row as the server gives it back: NULLs, FLOAT/DOUBLE values (0.1 and 1e-7 are
not what Python's floats print), BLOBs and identical copies, each copy rewritten once,
also when the work is cut into slices that each resume from the saved state.
"""

from __future__ import annotations

import pytest

from restorer.replace.tables import Replacer
from restorer.replace.plan import plan_replacements
from tests.replace.test_replacer import info

OLD, NEW = "https://www.old-site.com/blog", "https://new-site.org"
PAIRS, _ = plan_replacements(OLD, NEW, "/var/www/old", "/srv/new")


def _rows(db, table: str) -> list[tuple]:
    """Every row as the server shows it (CAST AS CHAR: what a FLOAT really holds), sorted."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM `{table}` LIMIT 0")
        names = [d[0] for d in cur.description]
        cur.execute(f"SELECT {', '.join(f'CAST(`{n}` AS BINARY)' for n in names)} FROM `{table}`")
        return sorted(cur.fetchall(), key=repr)


def _replace_in_slices(db, tables: list[str], batch_rows: int) -> Replacer:
    """One batch per slice, each slice a new Replacer resumed from the saved state."""
    state = Replacer(info(db), PAIRS, tables, batch_rows=batch_rows).state()
    for _ in range(1000):
        replacer = Replacer.resume(state, info(db))
        done = replacer.run(budget_seconds=0)
        state = replacer.state()
        replacer.close()
        if done:
            return replacer
    raise AssertionError("the replacement never finished")


def test_joomla_fields_values_without_a_key_is_rewritten(db):
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("""CREATE TABLE j_fields_values (field_id int unsigned NOT NULL,
            item_id varchar(255) NOT NULL, value text, KEY idx_field_id (field_id),
            KEY idx_item_id (item_id(191))) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""")
        cur.executemany("INSERT INTO j_fields_values VALUES (%s, %s, %s)",
                        [(1, "1", f"{OLD}/images/a.jpg"), (2, "1", f'<a href="{OLD}/x">x</a>'),
                         (2, "1", f'<a href="{OLD}/x">x</a>'), (3, "2", None), (4, "2", "plain")])
    replacer = _replace_in_slices(db, ["j_fields_values"], batch_rows=1)
    assert replacer.warnings == []
    report = replacer.report()[0]
    assert (report.skipped, report.rows_changed) == (None, 3)
    assert _rows(db, "j_fields_values") == sorted([
        (b"1", b"1", f"{NEW}/images/a.jpg".encode()), (b"2", b"1", f'<a href="{NEW}/x">x</a>'.encode()),
        (b"2", b"1", f'<a href="{NEW}/x">x</a>'.encode()), (b"3", b"2", None), (b"4", b"2", b"plain")],
        key=repr)


def test_a_not_null_unique_key_addresses_the_rows(db):
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE links (slug VARCHAR(40) NOT NULL, url TEXT, UNIQUE KEY (slug))")
        cur.executemany("INSERT INTO links VALUES (%s, %s)",
                        [(f"s{i}", f"{OLD}/{i}") for i in range(7)] + [("none", None)])
    replacer = _replace_in_slices(db, ["links"], batch_rows=2)
    assert replacer.warnings == [] and replacer.report()[0].rows_changed == 7
    assert _rows(db, "links") == sorted([(f"s{i}".encode(), f"{NEW}/{i}".encode()) for i in range(7)]
                                        + [(b"none", None)], key=repr)


@pytest.mark.parametrize("batch_rows", [1, 2, 1000])
def test_whole_row_identity_with_nulls_floats_blobs_and_copies(db, batch_rows):
    """A nullable unique key identifies nothing (many NULLs): the whole row does."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("""CREATE TABLE odd (f FLOAT, d DOUBLE, n INT NULL, b BLOB, t TEXT,
            tag VARCHAR(20) NULL, UNIQUE KEY (tag))""")
        url_blob = f"{OLD}/blob".encode()
        binary = b"\xff\xfe" + OLD.encode()  # not UTF-8: never touched
        rows = ([(0.1, 1e-7, None, url_blob, f"{OLD}/copy", None)] * 3            # three copies
                + [(None, None, None, None, f"{OLD}/nulls", None),
                   (3.14159, -2.5e-300, 7, binary, f"{OLD}/pi", "pi"),
                   (1e-7, 0.1, None, None, "no url", None)])
        cur.executemany("INSERT INTO odd VALUES (%s, %s, %s, %s, %s, %s)", rows)
        # The premise: a FLOAT keeps 0.1 in single precision, so Python's 0.1 finds no row.
        cur.execute("SELECT COUNT(*) FROM odd WHERE f = %s", (0.1,))
        assert cur.fetchone()[0] == 0
    before = _rows(db, "odd")
    replacer = _replace_in_slices(db, ["odd"], batch_rows=batch_rows)
    assert replacer.warnings == []
    report = replacer.report()[0]
    assert (report.skipped, report.rows_changed, report.skipped_binary) == (None, 5, 1)
    expected = sorted([tuple(v.replace(OLD.encode(), NEW.encode())
                             if isinstance(v, bytes) and not v.startswith(b"\xff") else v
                             for v in row) for row in before], key=repr)
    after = _rows(db, "odd")
    assert after == expected
    copies = [row for row in after if row[4] == f"{NEW}/copy".encode()]
    assert len(copies) == 3 and {row[:2] for row in copies} == {(b"0.1", b"0.0000001")}
