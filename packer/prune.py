"""Pruning: a profile's retention policy (``retention.py``) applied to its backup records.

Only backups that hold an archive somewhere (``ok``, ``remote``) are weighed; running,
failed, emptied and not yet uploaded (``upload-pending``) records are never touched. A
pruned backup loses exactly what its record names: its remote parts through the storage
backend (``offsite.delete_remote``), then its local parts and log (``records.delete``);
never anything found by listing a folder or a bucket several sites may share. When the
remote deletion fails, the record stays, so the next prune tries again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from restorer.errors import SitepackError

from . import profiles, records, retention
from .storage.offsite import delete_remote

#: Statuses of records that hold an archive (locally or remotely).
HOLDING = ("ok", "remote")


@dataclasses.dataclass
class Plan:
    profile: str
    policy: dict
    decisions: list[retention.Decision]

    @property
    def doomed(self) -> list[retention.Decision]:
        return [d for d in self.decisions if not d.keep]


def _started(record: records.Record) -> dt.datetime:
    return dt.datetime.strptime(record.started, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)


def plan(profile_name: str, *, just_made: int | None = None) -> Plan:
    """What the profile's policy keeps and removes now. The newest good backup and
    ``just_made`` are always kept."""
    policy = profiles.load(profile_name).retention
    holding = [r for r in records.list_records()
               if r.profile == profile_name and r.status in HOLDING]
    protected: dict[int, str] = {}
    if holding:
        newest = max(holding, key=lambda r: (r.started, r.id))
        protected[newest.id] = "newest good backup"
    if just_made is not None:
        protected[just_made] = "just made"
    backups = [retention.Backup(r.id, _started(r), r.size, r.frozen) for r in holding]
    return Plan(profile_name, policy,
                retention.decide(backups, policy, protected=protected))


def profiles_with_backups() -> list[str]:
    """Profiles that have backups holding an archive and still exist (a deleted
    profile's policy is unknown, so its backups are kept)."""
    known = set(profiles.list_profiles())
    return sorted({r.profile for r in records.list_records()
                   if r.status in HOLDING and r.profile in known})


def execute(pruning: Plan) -> tuple[list[int], list[str]]:
    """Deletes what ``pruning`` removes; returns the deleted ids and one error line per
    backup that could not be deleted (the others are still deleted)."""
    deleted, errors = [], []
    for decision in pruning.doomed:
        backup_id = decision.backup.id
        try:
            delete_everywhere(records.get(backup_id))
        except SitepackError as exc:
            errors.append(f"backup #{backup_id} not pruned: {exc}")
        else:
            deleted.append(backup_id)
    return deleted, errors


def delete_everywhere(record: records.Record) -> list[str]:
    """Deletes the backup's remote parts, then its local parts, log and record; returns
    the names deleted off-site. When the remote deletion fails nothing local is deleted
    and the record stays, so the next try deletes the rest."""
    deleted = delete_remote(record)
    records.delete(record.id)
    return deleted


def after_backup(record_id: int) -> tuple[list[int], list[str]]:
    """The policy of the backup's profile applied once the backup succeeded."""
    record = records.get(record_id)
    if record.profile not in profiles.list_profiles():
        return [], []
    pruning = plan(record.profile, just_made=record_id)
    if not retention.is_active(pruning.policy):
        return [], []
    return execute(pruning)
