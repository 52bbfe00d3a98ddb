"""``sitepack backup``: back up a site (or resume an interrupted backup)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from packer import profiles, records
from packer.archive import FORMATS
from packer.engine import (BackupJob, StepReport, archive_password_for, list_incomplete,
                           run_to_completion)
from restorer.errors import SitepackError
from restorer.progress import human_size

from .common import SIZE, ExitCode, ask_on_terminal, progress, resolve_secret, secret_options


@click.command("backup")
@click.argument("site_root", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--type", "backup_type", type=click.Choice(profiles.BACKUP_TYPES),
              help="full (files + database + installer), files or db (default: the profile's).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Archive format (default: the profile's, jpa).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the archive goes (default: SITE_ROOT/sitepack-backups).")
@click.option("--name", "name_template", metavar="TEMPLATE",
              help="Archive name with naming variables, e.g. 'site-[HOST]-[DATE]'.")
@click.option("--part-size", type=SIZE, help="Split the archive into parts of SIZE (e.g. 100M).")
@click.option("--description", metavar="TEXT", help="Short description (naming variables allowed).")
@click.option("--comment", metavar="TEXT", help="Longer comment (naming variables allowed).")
@secret_options("password", "archive password")
@secret_options("installer-password", "installer password")
@click.option("--profile", "profile_name", default=profiles.DEFAULT_PROFILE, show_default=True,
              help="Backup profile to use.")
@click.option("--resume", "resume_id", type=int, metavar="ID",
              help="Continue the interrupted backup ID (see `sitepack backups list`).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def command(site_root, backup_type, fmt, output_dir, name_template, part_size, description,
            comment, password_env, password_file, installer_password_env,
            installer_password_file, profile_name, resume_id, quiet):
    """Back up the site at SITE_ROOT into one restorable archive.

    Exit codes: 0 ok, 1 failed, 2 completed with warnings.
    """
    if resume_id is not None:
        if site_root is not None:
            raise SitepackError("give either SITE_ROOT (a new backup) or --resume ID, not both")
        job = BackupJob.load(resume_id)
    else:
        if site_root is None:
            waiting = ", ".join(f"#{r.id}" for r in list_incomplete())
            hint = f" (interrupted backups you can --resume: {waiting})" if waiting else ""
            raise SitepackError(f"give the site's root folder: sitepack backup SITE_ROOT{hint}")
        profile = profiles.load(profile_name)
        # The engine applies the same rule again; asked here, a prompt comes before any work.
        archive_password = archive_password_for(
            fmt or profile.format,
            resolve_secret("archive password", password_env, password_file, required=False),
            profile.archive_password, ask=ask_on_terminal("archive password", confirm=True))
        installer_password = resolve_secret("installer password", installer_password_env,
                                            installer_password_file, required=False)
        job = BackupJob.start(site_root, profile=profile_name, backup_type=backup_type, fmt=fmt,
                              output_dir=output_dir, name_template=name_template,
                              part_size=part_size, description=description, comment=comment,
                              archive_password=archive_password,
                              installer_password=installer_password, origin="cli")
        for message in job.notes():
            click.echo(f"note: {message}", err=True)
        for message in job.warnings():
            click.echo(f"WARNING: {message}", err=True)
    click.echo(f"backup #{job.id}" + (" (resumed)" if resume_id is not None else ""), err=True)
    bar = progress(f"backup #{job.id}", 100, unit="%", quiet=quiet)

    def show(report: StepReport) -> None:
        for message in report.new_warnings:
            if quiet:
                click.echo(f"WARNING: {message}", err=True)
            else:
                bar.message(f"WARNING: {message}")
        bar.update(report.progress, item=report.minor or report.last_item)

    try:
        report = job.report() if job.finished else run_to_completion(job, show)
    except KeyboardInterrupt:
        bar.close()
        raise SitepackError(f"interrupted; the backup keeps its last saved step: continue it with "
                            f"`sitepack backup --resume {job.id}` or delete it with "
                            f"`sitepack backups delete {job.id}`") from None
    bar.close()
    code = _summary(report)
    if not report.failed and job.state.settings.profile.drill:
        code = _drill(report, archive_password if resume_id is None else None, code)
    sys.exit(code)


def _drill(report: StepReport, archive_password: str | None, code: int) -> int:
    """The profile's drill of the archive just made (``drill: true``): its verdict decides."""
    from packer.drill.record import drill_backup
    result = drill_backup(report.backup_id, archive_password,
                          say=lambda line: click.echo(f"drill: {line}", err=True))
    click.echo(f"drill: {result.summary()}")
    for problem in result.problems + result.unchecked:
        click.echo(f"drill: {problem}", err=True)
    if result.exit_code == 1:
        click.echo(f"error: backup #{report.backup_id} was made but did not restore cleanly in its "
                   f"drill; see `sitepack backups show {report.backup_id}`", err=True)
        return ExitCode.FAILED
    return max(code, result.exit_code)


def _summary(report: StepReport) -> int:
    if report.failed:
        click.echo(f"error: backup #{report.backup_id} failed: {report.error}", err=True)
        return ExitCode.FAILED
    click.echo(f"archive: {report.archive}")
    if len(report.parts) > 1:
        for part in report.parts:
            click.echo(f"part: {part}")
    click.echo(f"size: {report.size} bytes ({human_size(report.size)})")
    record = records.get(report.backup_id)
    if record.offsite:
        click.echo(f"off-site: {record.offsite['location']} ({record.status})")
    click.echo(f"record: #{report.backup_id}")
    if report.warnings_total:
        click.echo(f"completed with {report.warnings_total} warning(s); see "
                   f"`sitepack backups show {report.backup_id}`", err=True)
        return ExitCode.WARNINGS
    return ExitCode.OK
