"""A dump checked without a server (``sitepack verify``): every statement complete and of a
kind the dump writes, every INSERT's rows read back, and each table's row count and
checksum equal to what the dumper recorded (``checksums.py``, docs/FORMAT-CHECKSUMS.md)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from restorer.bundle import DATABASES_JSON, INSTALLATION, SQL_DIR

from .checksums import NO_RECORD, TableSums, insert_rows, read_record
from .importer import _insert_target, _is_insert, part_names
from .sqlstream import MarkerStatementReader

_KINDS = (b"DROP ", b"CREATE ", b"INSERT ", b"ALTER ", b"SET ", b"LOCK ", b"UNLOCK ")


@dataclasses.dataclass
class DumpCheck:
    statements: int = 0
    tables: int = 0
    rows: int = 0
    recorded: bool = True      # False: the bundle has no checksum record (NO_RECORD says why)
    problems: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        if self.problems:
            return "database dump INCONSISTENT: " + "; ".join(self.problems)
        if not self.recorded:
            return (f"database dump: {self.statements:,} statements read; {NO_RECORD}, so counts "
                    f"and checksums could not be compared")
        return (f"database dump consistent: {self.statements:,} statements read, {self.tables} tables, "
                f"{self.rows:,} rows, every count and checksum equal to the dump's record")


def check_dump(sql_dir: Path, db_entry: dict) -> DumpCheck:
    """Reads the dump ``db_entry`` (from ``databases.json``) in ``sql_dir`` and compares it with its record."""
    result = DumpCheck()
    sqlfile = db_entry.get("sqlfile", "site.sql")
    paths = [Path(sql_dir) / name for name in part_names(sqlfile, int(db_entry.get("parts") or 1))]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        result.problems.append(f"{', '.join(missing)} missing from the archive")
        return result
    record = read_record(sql_dir, sqlfile)
    sums = TableSums()
    for part, offset, statement in MarkerStatementReader(paths):
        result.statements += 1
        where = f"{paths[part].name} byte {offset}"
        if not statement.upper().startswith(_KINDS):
            result.problems.append(f"{where}: not a statement a dump holds ({statement[:40]!r})")
        elif _is_insert(statement):
            table, rows = _insert_target(statement), insert_rows(statement)
            values = statement[statement.index(b") VALUES ") + len(b") VALUES "):]
            if table is None or b",".join(rows) != values:
                result.problems.append(f"{where}: an INSERT into {table} does not parse")
            else:
                sums.add(table, rows)
        if len(result.problems) >= 5:
            break
    with open(paths[-1], "rb") as last:
        last.seek(max(0, paths[-1].stat().st_size - 2))
        complete = last.read() == b";\n"
    if not complete:
        result.problems.append(f"{paths[-1].name} ends in the middle of a statement (truncated)")
    if record is None:
        result.recorded = False
        return result
    for table, expected in record["tables"].items():
        rows, total = sums.get(table)
        result.tables += 1
        result.rows += rows
        if rows != expected["rows"]:
            result.problems.append(f"{table}: {rows:,} rows in the dump, its record says {expected['rows']:,}")
        elif total != int(expected["sum"], 16):
            result.problems.append(f"{table}: the rows differ from the dump's record (checksum)")
    return result


class DumpCopy:
    """Keeps the ``installation/sql/`` entries of an archive being verified in a private
    folder (``verify(copy_to=...)``), then checks each dump there."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._file = None

    def __call__(self, entry):
        head = f"{INSTALLATION}/{SQL_DIR}/"
        name = entry.path[len(head):] if entry.path.startswith(head) else ""
        if not name or "/" in name or name.startswith("."):
            return None
        self.close()
        self._file = open(self.folder / name, "wb")
        return self._file.write

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def check(self) -> list[tuple[bool, str]]:
        """(consistent, one line) per dump of the archive; empty when it holds no database."""
        self.close()
        listing = self.folder / DATABASES_JSON
        if not listing.is_file():
            return []
        lines = []
        for name, entry in json.loads(listing.read_text(encoding="utf-8")).items():
            result = check_dump(self.folder, {"sqlfile": name, **entry})
            lines.append((not result.problems, f"{name}: {result.summary()}"))
        return lines
