"""What every domain handler shares: the job it works for, and adding a planned file list.

A domain (``initialise``, ``database``, ``files``, ``finalise``) is one class; each of
its phases is one method ``phase(deadline) -> bool`` that works until ``deadline``
(``time.monotonic()``) and says whether the phase is done. ``phases.py`` holds the
table that says which method handles which phase and in what order they run. A domain
object lives for one process's steps and holds what it has open (a dumper, a scanner);
everything a later process needs is in ``job.state``.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from restorer.privatefile import write_private_json

from ..archive import ArchiveWriter
from ..logs import BackupLog
from .state import JobState

if TYPE_CHECKING:  # reading a site costs imports a step that needs no site must not pay
    from ..site.model import Site

#: Mode of files added from the plan (generated installer files, SQL files, runtime).
_PLANNED_FILE_MODE = 0o100644


class Job(Protocol):
    """What a domain may use of the job (``job.BackupJob``)."""

    state: JobState
    writer: ArchiveWriter | None
    log: BackupLog

    @property
    def job_dir(self) -> Path: ...

    def warn(self, message: str) -> None: ...

    def site_info(self) -> "Site": ...

    def save(self) -> None: ...

    def handler_due(self, deadline: float) -> bool: ...

    def write_state(self) -> None: ...

    def closed(self, parts: list[Path]) -> None: ...

    def complete(self, parts: list[Path], *, offsite: dict | None = None) -> None: ...


class Domain:
    def __init__(self, job: Job):
        # Weak: the job holds its domains, and without a cycle a job its driver drops
        # mid-dump (the web UI loads one per request) closes the dumper's database
        # connection at once, instead of at some later garbage collection while the
        # connection's snapshot still holds the tables.
        self.job = weakref.proxy(job)

    @property
    def state(self) -> JobState:
        return self.job.state

    def close(self) -> None:
        """Lets go of what this domain holds open (the saved state stays the truth)."""

    def checkpoint(self) -> None:
        """Puts where its open workers stand into ``state.checkpoints`` (before a save)."""

    def fraction(self, phase: str) -> float:
        """How much of this domain's work is done, 0..1, while in ``phase``."""
        return 0.0

    # -- a plan: (archive path, source file) pairs added one by one, resumably -----------
    def set_plan(self, plan: list[tuple[str, str]]) -> None:
        write_private_json(self.job.job_dir / "plan.json", plan)
        self.state.checkpoints.plan_index = 0
        self.state.checkpoints.plan_size = len(plan)

    def add_plan(self, deadline: float) -> bool:
        """Adds the planned files until ``deadline``; True when all are in."""
        marks = self.state.checkpoints
        plan = json.loads((self.job.job_dir / "plan.json").read_text(encoding="utf-8"))
        mtime = int(self.state.settings.started)
        while marks.plan_index < len(plan):
            arc, source = plan[marks.plan_index]
            self.job.writer.add_file(arc, Path(source), mode=_PLANNED_FILE_MODE, mtime=mtime)
            marks.plan_index += 1
            self.state.progress.minor = arc
            if self.job.handler_due(deadline):
                break
        return marks.plan_index >= len(plan)

    def plan_fraction(self) -> float:
        marks = self.state.checkpoints
        return marks.plan_index / max(1, marks.plan_size)
