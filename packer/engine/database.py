"""Domain ``db``: dump the database into the working folder in slices, then add the SQL
files and ``databases.json`` to the archive (``installation/sql/``)."""

from __future__ import annotations

import json
import time

from restorer.bundle import CHECKSUMS_JSON, DATABASES_JSON, SITE_DUMP

from ..archive.base import SMALL_FILE_LIMIT
from ..installer import SQL_DIR, databases_json
from .domain import Domain


class DatabaseDomain(Domain):
    def __init__(self, job):
        super().__init__(job)
        self._dumper = None

    def close(self) -> None:
        if self._dumper is not None:
            self._dumper.close()
            self._dumper = None

    def checkpoint(self) -> None:
        if self._dumper is not None:
            self.state.checkpoints.dumper = self._dumper.state()

    def _open_dumper(self):
        # The dump's imports (pymysql, schema) are paid only by a step that dumps.
        from ..dump.mysql import DEFAULT_DATA_EXCLUSIONS, Dumper, DumpOptions
        marks, settings = self.state.checkpoints, self.state.settings
        conn = self.job.site_info().db
        if marks.dumper:
            return Dumper.resume(marks.dumper, conn)
        rules = settings.profile.db
        # Every SQL file stays under the size the archive deflates (SMALL_FILE_LIMIT, what
        # Akeeba's Kickstart inflates in memory): statements of at most half of it, and a
        # new file once a statement would start past the first half. One 20 MB site.sql
        # was stored raw, five times its deflated size.
        half = SMALL_FILE_LIMIT // 2
        options = DumpOptions(
            prefix=settings.site.prefix or "", extra_tables=rules["extra_tables"],
            exclude_tables=rules["exclude_tables"],
            exclude_data=[*DEFAULT_DATA_EXCLUSIONS, *rules["exclude_data"]],
            split_size=min(settings.profile.sql_split_size or half, half), packet_size=half)
        return Dumper(conn, self.job.job_dir / "sql", options)

    def dump(self, deadline: float) -> bool:
        if self._dumper is None:
            self._dumper = self._open_dumper()
        dumper, marks, progress = self._dumper, self.state.checkpoints, self.state.progress
        done = dumper.run(max(0.0, deadline - time.monotonic()))
        for message in dumper.warnings[marks.dump_warnings_seen:]:
            self.job.warn(message)
        marks.dump_warnings_seen = len(dumper.warnings)
        slices = dumper.progress
        progress.minor = slices.message
        progress.db_fraction = slices.items_done / slices.items_total if slices.items_total else 0.0
        if slices.items_done:
            progress.last_item = f"{slices.items_done} of {slices.items_total} database objects"
        if not done:
            return False
        meta = self.job.job_dir / "sql-meta"
        meta.mkdir(exist_ok=True)
        (meta / DATABASES_JSON).write_bytes(databases_json(dumper.databases_json_entry()))
        plan = [(f"{SQL_DIR}/{p.name}", str(p)) for p in dumper.files]
        plan.append((f"{SQL_DIR}/{DATABASES_JSON}", str(meta / DATABASES_JSON)))
        (meta / CHECKSUMS_JSON).write_text(json.dumps({SITE_DUMP: dumper.checksums_record()}, indent=1) + "\n")
        plan.append((f"{SQL_DIR}/{CHECKSUMS_JSON}", str(meta / CHECKSUMS_JSON)))
        self.job.log.info(f"database dumped: {len(dumper.files)} SQL file(s), "
                          f"{sum(p.stat().st_size for p in dumper.files)} bytes")
        marks.dumper = dumper.state()
        self._dumper = None
        progress.last_item = "database dump"
        self.set_plan(plan)
        return True

    def add(self, deadline: float) -> bool:
        return self.add_plan(deadline)

    def fraction(self, phase: str) -> float:
        if phase == "dump":
            return 0.9 * self.state.progress.db_fraction
        return 0.9 + 0.1 * self.plan_fraction()
