"""Domain ``finalise``: write the installer's generated files, add them and the restorer
runtime, close the archive.

Closing renames the last part to the archive's real name, so a kill during close may
leave a complete archive: the ``close`` phase saves the state as ``closing`` first, and
``closing`` (entered only by a resume) takes a complete archive as it is or closes again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..archive import ArchiveWriter
from ..installer import extrainfo, runtime_entries, write_generated
from .domain import Domain
from .output import completed_parts


class FinaliseDomain(Domain):
    def prepare(self, deadline: float) -> bool:
        settings = self.state.settings
        site = settings.site
        full = settings.backup_type == "full"
        plan: list[tuple[str, str]] = []
        if settings.backup_type != "files":
            started = dt.datetime.fromtimestamp(settings.started, dt.timezone.utc)
            info = extrainfo(host=site.host or "", root=settings.site_root,
                             backup_id=self.state.id, description=settings.description,
                             started_utc=started, platform=site.platform,
                             platform_version=site.platform_version, prefix=site.prefix,
                             live_site=site.live_site, site_name=site.name)
            generated = write_generated(self.job.job_dir / "installation", info=info,
                                        description=settings.description,
                                        comment=settings.comment, full=full,
                                        password_record=settings.password_record)
            plan.extend((arc, str(path)) for arc, path in generated)
        if full:
            plan.extend((arc, str(path)) for arc, path in runtime_entries())
        self.set_plan(plan)
        return True

    def add(self, deadline: float) -> bool:
        return self.add_plan(deadline)

    def close_archive(self, deadline: float) -> bool:
        self.state.progress.last_item = "archive complete"
        self.job.save()
        # From here a kill may leave a closed archive; "closing" tells a resume to look.
        self.state.phase = "closing"
        self.job.write_state()
        parts = self.job.writer.close()
        self.job.writer = None
        self.job.closed(parts)
        return True

    def closing(self, deadline: float) -> bool:
        """Resumed after a kill during close: take the complete archive, or close again."""
        final = Path(self.state.settings.archive)
        if final.exists():  # the writer names the last part only when it is complete
            self.job.closed(completed_parts(final, [u.name for u in self.state.offsite.uploads]))
            return True
        self.job.writer = ArchiveWriter.resume(self.state.checkpoints.writer)
        self.state.phase = "close"
        return False

    def fraction(self, phase: str) -> float:
        return self.plan_fraction() if phase in ("add", "close", "closing") else 0.0
