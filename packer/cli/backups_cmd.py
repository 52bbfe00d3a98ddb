"""``sitepack backups``: list and manage backup records (B10)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from packer import check, profiles, prune, records, retention
from packer.engine import delete_backup, what_was_deleted
from packer.drill.record import summary as drill_summary
from packer.logs import read_log
from restorer.errors import SitepackError
from restorer.progress import human_size

from .common import ExitCode


@click.group("backups")
def command() -> None:
    """List, inspect, freeze and delete backup records."""


@command.command("list")
def list_cmd() -> None:
    """All backups, newest first."""
    rows = records.list_records()
    if not rows:
        click.echo("no backups yet (make one with `sitepack backup SITE_ROOT`)")
        return
    click.echo(f"{'ID':>4}  {'STATUS':8} {'F':1} {'TYPE':5} {'FMT':4} {'STARTED (UTC)':19} "
               f"{'SIZE':>10} {'WARN':>4}  DESCRIPTION")
    for r in rows:
        click.echo(f"{r.id:>4}  {r.status:8} {'*' if r.frozen else ' '} {r.type:5} {r.format:4} "
                   f"{r.started:19} {human_size(r.size):>10} {r.warnings:>4}  {r.description}")


@command.command("show")
@click.argument("backup_id", type=int)
@click.option("--log", "with_log", is_flag=True, help="Also print the backup's log.")
def show_cmd(backup_id: int, with_log: bool) -> None:
    """Everything about one backup."""
    r = records.get(backup_id)
    lines = [
        ("id", r.id), ("status", r.status), ("frozen", "yes" if r.frozen else "no"),
        ("description", r.description), ("comment", r.comment), ("origin", r.origin),
        ("type", r.type), ("format", r.format), ("profile", r.profile),
        ("site root", r.site_root), ("output dir", r.output_dir), ("archive", r.archive_name),
        ("size", f"{r.size} bytes ({human_size(r.size)})"), ("started (UTC)", r.started),
        ("finished (UTC)", r.finished or ""), ("duration", f"{r.duration:.1f} s"),
        ("warnings", r.warnings), ("log", r.log_path),
    ]
    if r.error:
        lines.append(("error", r.error))
    lines.append(("drill", drill_summary(r.id) or "never drilled (sitepack drill --backup ID)"))
    for key, value in lines:
        click.echo(f"{key + ':':16}{value}")
    stored = {name for name, part in r.offsite.get("parts", {}).items() if part["stored"]}
    if r.offsite:
        click.echo(f"{'off-site:':16}{r.offsite['location']}")
    for path in r.part_paths():
        where = ("local+remote" if path.exists() else "remote") if path.name in stored else "local"
        click.echo(f"{'part:':16}{path}" + (f" ({where})" if r.offsite else ""))
    for message in r.warning_messages:
        click.echo(f"{'WARNING:':16}{message}")
    if with_log:
        click.echo("--- log")
        click.echo(read_log(r.log_path), nl=False)


@command.command("delete")
@click.argument("backup_id", type=int)
@click.option("--keep-remote", is_flag=True,
              help="Leave its off-site copy as it is (e.g. that storage is gone for good).")
def delete_cmd(backup_id: int, keep_remote: bool) -> None:
    """Delete the archive files (off-site too), the log and the record."""
    offsite = records.get(backup_id).offsite
    deleted = delete_backup(backup_id, keep_remote=keep_remote)
    click.echo(f"deleted backup #{backup_id} ({what_was_deleted(deleted)})")
    if keep_remote and offsite:
        click.echo(f"its off-site copy on {offsite['location']} was left as it is")


@command.command("delete-files")
@click.argument("backup_id", type=int)
def delete_files_cmd(backup_id: int) -> None:
    """Delete the archive files, keep the record (it becomes obsolete)."""
    record = records.delete_files(backup_id)
    click.echo(f"deleted the files of backup #{backup_id}; the record is kept as {record.status}")


@command.command("freeze")
@click.argument("backup_id", type=int)
@click.option("--unfreeze", is_flag=True, help="Lift the freeze.")
def freeze_cmd(backup_id: int, unfreeze: bool) -> None:
    """Protect a backup from deletion (or lift that with --unfreeze)."""
    records.freeze(backup_id, not unfreeze)
    click.echo(f"backup #{backup_id} {'unfrozen' if unfreeze else 'frozen'}")


@command.command("upload")
@click.argument("backup_id", type=int)
def upload_cmd(backup_id: int) -> None:
    """Send the parts of a backup not yet stored off-site (status upload-pending)."""
    from packer.storage.offsite import upload_backup
    record = upload_backup(backup_id)
    click.echo(f"backup #{backup_id}: every part is stored on {record.offsite['location']} "
               f"(status {record.status})")


@command.command("fetch")
@click.argument("backup_id", type=int)
@click.argument("dest", required=False, type=click.Path(file_okay=False, path_type=Path))
def fetch_cmd(backup_id: int, dest: Path | None) -> None:
    """Download a backup's parts from off-site storage into DEST (default: its output
    folder); an interrupted fetch continues, every part is checked by SHA-256."""
    from packer.storage.offsite import fetch_backup
    parts = fetch_backup(backup_id, dest)
    click.echo(f"fetched {len(parts)} part(s) of backup #{backup_id}, each SHA-256 verified; "
               f"restore with: sitepack extract {parts[-1]} DEST")


@command.command("prune")
@click.option("--profile", "profile_name", metavar="P",
              help="Only this profile's backups (default: every profile that has some).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed and why.")
def prune_cmd(profile_name: str | None, dry_run: bool) -> None:
    """Apply the profiles' retention policies (kept when any rule keeps a backup)."""
    names = [profile_name] if profile_name else prune.profiles_with_backups()
    errors: list[str] = []
    for name in names:
        pruning = prune.plan(name)
        click.echo(f"profile {name}: {retention.describe(pruning.policy)}")
        for decision in pruning.decisions:
            backup = decision.backup
            verb = "keep  " if decision.keep else ("would remove" if dry_run else "remove")
            click.echo(f"  #{backup.id:<5} {backup.started:%Y-%m-%d %H:%M} "
                       f"{human_size(backup.size):>10}  {verb}: {decision.why()}")
        if not dry_run:
            deleted, failures = prune.execute(pruning)
            errors += failures
            click.echo(f"  deleted {len(deleted)} backup(s)")
    for line in errors:
        click.echo(f"error: {line}", err=True)
    if errors:
        sys.exit(ExitCode.FAILED)


_NAGIOS_CODES = {check.OK: 0, check.WARNING: 1, check.CRITICAL: 2}
_NAGIOS_UNKNOWN = 3
_SITEPACK_CODES = {check.OK: ExitCode.OK, check.WARNING: ExitCode.WARNINGS,
                   check.CRITICAL: ExitCode.FAILED}


@command.command("check")
@click.option("--profile", "profile_name", metavar="P", help="Only this profile's backups.")
@click.option("--max-age", default="26h", show_default=True, metavar="AGE",
              help="The newest good backup must be younger (e.g. 26h, 2d, 1w).")
@click.option("--nagios", is_flag=True,
              help="Exit like a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL.")
def check_cmd(profile_name: str | None, max_age: str, nagios: bool) -> None:
    """One line on the last good backup, failed or stuck backups and pending uploads.

    Exit codes: 0 ok, 1 failed (too old, none), 2 warnings; see --nagios.
    """
    try:
        if profile_name is not None:
            profiles.load(profile_name)  # a misspelt profile is an error, not "no backup yet"
        health = check.check(profile=profile_name, max_age=check.parse_duration(max_age))
    except SitepackError as exc:
        if not nagios:
            raise
        click.echo(f"UNKNOWN: sitepack: {exc}")
        sys.exit(_NAGIOS_UNKNOWN)
    click.echo(health.line())
    sys.exit((_NAGIOS_CODES if nagios else _SITEPACK_CODES)[health.state])
