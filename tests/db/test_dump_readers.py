"""The dump's parallel readers: one snapshot for all connections, same bytes as one
connection, and a quiet fallback to one connection where the snapshot lock is refused."""

from __future__ import annotations

import random
import threading

import pytest
from fidelity import info_for
from nasty import create_nasty

from packer.dump import Dumper, DumpOptions
from restorer.dbimport.importer import Importer

ACCOUNTS = 4000


def dump(params, out, **options) -> Dumper:
    dumper = Dumper(info_for(params), out, DumpOptions(prefix="jos_", **options))
    assert dumper.run() is True
    return dumper


def dump_bytes(dumper: Dumper) -> list[bytes]:
    return [path.read_bytes() for path in dumper.files]


def create_accounts(params) -> None:
    with params.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE jos_accounts (id INT PRIMARY KEY, balance INT NOT NULL, "
                    "note VARCHAR(200) NOT NULL)")
        cur.execute(f"INSERT INTO jos_accounts SELECT seq, 100, REPEAT('x', 150) "
                    f"FROM seq_1_to_{ACCOUNTS}")
        cur.execute("CREATE TABLE jos_ledger (id INT AUTO_INCREMENT PRIMARY KEY, "
                    "from_id INT NOT NULL, to_id INT NOT NULL)")


class Transfers(threading.Thread):
    """The site at work: moves 1 from an account in the first half to one in the second
    half and records it in the ledger, one transaction at a time, until stopped."""

    def __init__(self, params):
        super().__init__(daemon=True)
        self.conn = params.connect(autocommit=False)
        self.done = 0
        self.halt = threading.Event()

    def run(self) -> None:
        rng = random.Random(7)
        with self.conn.cursor() as cur:
            while not self.halt.is_set():
                low, high = rng.randint(1, ACCOUNTS // 2), rng.randint(ACCOUNTS // 2 + 1, ACCOUNTS)
                cur.execute("UPDATE jos_accounts SET balance = balance - 1 WHERE id = %s", (low,))
                cur.execute("UPDATE jos_accounts SET balance = balance + 1 WHERE id = %s", (high,))
                cur.execute("INSERT INTO jos_ledger (from_id, to_id) VALUES (%s, %s)", (low, high))
                self.conn.commit()
                self.done += 1

    def stop(self) -> int:
        self.halt.set()
        self.join()
        self.conn.close()
        return self.done


def test_parallel_readers_read_one_snapshot_while_the_site_writes(db, db_factory, tmp_path):
    create_accounts(db)
    site = Transfers(db)
    site.start()
    try:
        while site.done < 50:  # the site is busy before the dump starts
            pass
        before = site.done
        # Small batches: many queries on three connections, spread over the whole dump.
        dumper = dump(db, tmp_path / "sql", batch_rows=40, readers=2)
        during = site.done - before
    finally:
        site.stop()
    assert during > 20, "the site must commit transfers while the dump runs"

    target = db_factory()
    Importer(info_for(target), tmp_path / "sql", dumper.databases_json_entry(), new_prefix="jos_").run()
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT SUM(balance) FROM jos_accounts")
        assert int(cur.fetchone()[0]) == 100 * ACCOUNTS
        cur.execute(f"SELECT SUM(100 - balance) FROM jos_accounts WHERE id <= {ACCOUNTS // 2}")
        moved_out = int(cur.fetchone()[0])
        cur.execute("SELECT COUNT(*) FROM jos_ledger")
        assert int(cur.fetchone()[0]) == moved_out >= before


def test_parallel_readers_write_the_same_bytes_as_one_connection(db, tmp_path):
    with db.connect() as conn:
        create_nasty(conn, "jos_", map_rows=40000)
    # Batches end elsewhere in each run: the statements and parts must not care.
    one = dump(db, tmp_path / "one", readers=0, batch_rows=97, packet_size=16 << 10,
               split_size=128 << 10)
    three = dump(db, tmp_path / "three", readers=3, packet_size=16 << 10, split_size=128 << 10)
    assert len(one.files) > 10
    assert dump_bytes(three) == dump_bytes(one)
    assert sum(map(len, dump_bytes(one))) > 17 << 20  # the 16 MB row went through as well


@pytest.mark.parametrize("limit", ["no LOCK TABLES privilege", "one connection only"])
def test_dump_reads_on_one_connection_where_the_snapshot_lock_is_not_possible(
        mariadb, db, tmp_path, limit):
    create_accounts(db)
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO jos_ledger (from_id, to_id) SELECT seq, seq FROM seq_1_to_5000")
    user = f"limited_{random.randrange(1 << 30)}"
    with mariadb.root_connection() as conn, conn.cursor() as cur:
        if limit == "one connection only":
            cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw-limited' "
                        f"WITH MAX_USER_CONNECTIONS 1")
            cur.execute(f"GRANT ALL PRIVILEGES ON `{db.database}`.* TO '{user}'@'127.0.0.1'")
        else:
            cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw-limited'")
            cur.execute(f"GRANT SELECT, SHOW VIEW, TRIGGER ON `{db.database}`.* TO '{user}'@'127.0.0.1'")
    try:
        limited = type(db)(db.host, db.port, user, "pw-limited", db.database)
        reference = dump(db, tmp_path / "full", readers=2, batch_rows=100)
        fallback = dump(limited, tmp_path / "limited", readers=2, batch_rows=100)
        assert dump_bytes(fallback) == dump_bytes(reference)
    finally:
        with mariadb.root_connection() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER '{user}'@'127.0.0.1'")


def test_an_open_transaction_on_the_site_neither_stalls_the_dump_nor_leaks_into_it(
        db, db_factory, tmp_path):
    create_accounts(db)
    site = db.connect(autocommit=False)
    try:
        with site.cursor() as cur:
            cur.execute("UPDATE jos_accounts SET balance = 0 WHERE id = 1")  # not committed
        dumper = dump(db, tmp_path / "sql", readers=2, batch_rows=100)
        site.commit()  # the site's transaction was never blocked by the dump
    finally:
        site.close()
    target = db_factory()
    Importer(info_for(target), tmp_path / "sql", dumper.databases_json_entry(), new_prefix="jos_").run()
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT balance FROM jos_accounts WHERE id = 1")
        assert cur.fetchone()[0] == 100


def test_closing_mid_table_and_running_again_continues_where_the_output_stands(db, tmp_path):
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE jos_log (id INT PRIMARY KEY, v VARCHAR(40))")
        cur.execute("INSERT INTO jos_log SELECT seq, CONCAT('row ', seq) FROM seq_1_to_3000")
    reference = dump(db, tmp_path / "reference", batch_rows=50)
    dumper = Dumper(info_for(db), tmp_path / "sql", DumpOptions(prefix="jos_", batch_rows=50))
    runs = 0
    while not dumper.run(budget_seconds=0):
        runs += 1
        if runs % 3 == 0:
            dumper.close()  # batches read ahead are dropped; run() opens a new snapshot
    assert runs > 10
    assert dump_bytes(dumper) == dump_bytes(reference)
