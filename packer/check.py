"""``sitepack backups check``: is a profile's backup up to date? One line for cron mail
and monitoring.

Findings, each with a severity:

- critical: no good backup at all, or the newest good one is older than ``max_age``;
- warning: backups failed since the newest good one; a backup stuck (pending, and its
  saved state untouched for ``STUCK_AFTER``: killed, or a browser closed mid-backup);
  uploads pending (a complete backup whose parts are not all off-site yet: it counts as
  a good backup for the age, but the site has no off-site copy of it); the newest good
  backup's drill failed or was interrupted, or it was never drilled although its profile
  drills every backup.

The newest good backup's drill result, when it has one, ends the line ("#12 restorable:
verified 2026-12-07, ..."; "#12 drilling… (...)" while its drill runs).

The worst finding decides the state; every finding is named in the line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from restorer.errors import SitepackError

from . import profiles, records
from .drill import record as drill_record
from .prune import HOLDING
from .home import jobs_dir

OK, WARNING, CRITICAL = "OK", "WARNING", "CRITICAL"
_RANK = {OK: 0, WARNING: 1, CRITICAL: 2}

#: A pending backup whose state has not been saved for this long is stuck: a running
#: one saves it after every step (seconds apart).
STUCK_AFTER = dt.timedelta(hours=1)

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclasses.dataclass
class Finding:
    severity: str
    text: str


@dataclasses.dataclass
class Health:
    scope: str                   # "profile default" or "all profiles"
    findings: list[Finding]
    age: dt.timedelta | None     # of the newest good backup
    max_age: dt.timedelta
    drill: str = ""              # the newest good backup's restorable drill, "" when none

    @property
    def state(self) -> str:
        return max((f.severity for f in self.findings), key=_RANK.__getitem__, default=OK)

    def line(self) -> str:
        """``OK: …`` / ``WARNING: …`` / ``CRITICAL: …`` in one line."""
        problems = [f.text for f in sorted(self.findings, key=lambda f: -_RANK[f.severity])]
        summary = "; ".join(problems) if problems else self._good()
        if self.drill:
            summary += f"; {self.drill}"
        return f"{self.state}: sitepack {self.scope}: {summary}"

    def _good(self) -> str:
        return f"last good backup {human_age(self.age)} ago (max {human_age(self.max_age)})"


def parse_duration(text: str) -> dt.timedelta:
    """``26h``, ``90m``, ``2d``, ``1w``, ``3600`` (seconds) → a duration."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _DURATION_UNITS else "s"
    number = raw[:-1] if raw[-1:] in _DURATION_UNITS else raw
    try:
        value = float(number)
    except ValueError:
        raise SitepackError(f"{text!r} is not a duration; write it like 26h, 90m, 2d or 1w") from None
    if value <= 0:
        raise SitepackError(f"{text!r}: the duration must be more than zero")
    return dt.timedelta(seconds=value * _DURATION_UNITS[unit])


def human_age(age: dt.timedelta | None) -> str:
    if age is None:
        return "never"
    seconds = int(age.total_seconds())
    if seconds < 5400:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600}h"


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)


def _last_saved(record: records.Record) -> dt.datetime:
    """When a pending backup last saved its state (its start when it saved none)."""
    try:
        mtime = (jobs_dir() / str(record.id) / "state.json").stat().st_mtime
    except FileNotFoundError:
        return _time(record.started)
    return dt.datetime.fromtimestamp(mtime, dt.timezone.utc)


def check(*, profile: str | None = None, max_age: dt.timedelta = dt.timedelta(hours=26),
          now: dt.datetime | None = None) -> Health:
    """The health of ``profile``'s backups (all profiles when None) at ``now``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = [r for r in records.list_records() if profile is None or r.profile == profile]
    findings: list[Finding] = []
    good = [r for r in rows if r.status in (*HOLDING, "upload-pending")]
    newest = max(good, key=lambda r: (r.started, r.id), default=None)
    age = None if newest is None else now - _time(newest.finished or newest.started)
    if newest is None:
        findings.append(Finding(CRITICAL, "no good backup yet"))
    elif age > max_age:
        findings.append(Finding(CRITICAL, f"last good backup #{newest.id} is {human_age(age)} old "
                                          f"(max {human_age(max_age)})"))
    failed = [r for r in rows if r.status == "failed"
              and (newest is None or (r.started, r.id) > (newest.started, newest.id))]
    if failed:
        findings.append(Finding(WARNING, f"{len(failed)} failed since the last good one "
                                         f"(see sitepack backups show {failed[0].id})"))
    stuck = [r for r in rows if r.status == "pending" and now - _last_saved(r) > STUCK_AFTER]
    if stuck:
        ids = ", ".join(f"#{r.id}" for r in stuck)
        findings.append(Finding(WARNING, f"stuck: {ids} (resume with sitepack backup --resume ID "
                                         f"or delete)"))
    pending = [r for r in rows if r.status == "upload-pending"]
    if pending:
        ids = ", ".join(f"#{r.id}" for r in pending)
        findings.append(Finding(WARNING, f"uploads pending: {ids} (sitepack backups upload ID)"))
    drill = ""
    if newest is not None:
        drill, finding = _drill_state(newest)
        findings += [finding] if finding else []
    return Health(f"profile {profile}" if profile else "all profiles", findings, age, max_age, drill)


def _drills_every_backup(profile_name: str) -> bool:
    try:
        return profiles.load(profile_name).drill
    except SitepackError:  # the profile was deleted since: nothing promised any more
        return False


def _drill_state(newest: records.Record) -> tuple[str, Finding | None]:
    """The newest good backup's drill: its restorable summary, or a warning (failed drill;
    never drilled although its profile drills every backup)."""
    result = drill_record.latest(newest.id)
    if result is None:
        if _drills_every_backup(newest.profile):
            return "", Finding(WARNING, f"#{newest.id} never drilled although profile "
                                        f"{newest.profile} drills every backup "
                                        f"(sitepack drill --backup {newest.id})")
        return "", None
    if result.get("interrupted"):
        return "", Finding(WARNING, f"#{newest.id} {result['summary']}")
    if result.get("exit_code") == 1:
        return "", Finding(WARNING, f"#{newest.id} drill failed: {result.get('summary', '')}")
    return f"#{newest.id} {result.get('summary', '')}", None
