"""``sitepack backups``: list and manage backup records (B10)."""

from __future__ import annotations

import click

from packer import records
from packer.engine import delete_backup
from packer.drill.record import summary as drill_summary
from packer.logs import read_log
from restorer.progress import human_size


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
    for path in r.part_paths():
        click.echo(f"{'part:':16}{path}")
    for message in r.warning_messages:
        click.echo(f"{'WARNING:':16}{message}")
    if with_log:
        click.echo("--- log")
        click.echo(read_log(r.log_path), nl=False)


@command.command("delete")
@click.argument("backup_id", type=int)
def delete_cmd(backup_id: int) -> None:
    """Delete the archive files, the log and the record."""
    delete_backup(backup_id)
    click.echo(f"deleted backup #{backup_id}")


@command.command("delete-files")
@click.argument("backup_id", type=int)
def delete_files_cmd(backup_id: int) -> None:
    """Delete the archive files, keep the record (it becomes obsolete)."""
    records.delete_files(backup_id)
    click.echo(f"deleted the files of backup #{backup_id}; the record is kept as obsolete")


@command.command("freeze")
@click.argument("backup_id", type=int)
@click.option("--unfreeze", is_flag=True, help="Lift the freeze.")
def freeze_cmd(backup_id: int, unfreeze: bool) -> None:
    """Protect a backup from deletion (or lift that with --unfreeze)."""
    records.freeze(backup_id, not unfreeze)
    click.echo(f"backup #{backup_id} {'unfrozen' if unfreeze else 'frozen'}")
