"""``sitepack verify``: check every byte of an archive against its manifest, and its database dump
against the dump's own record (rows and checksums per table)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from restorer.dbimport.dumpcheck import DumpCopy
from restorer.extract.verify import verify
from restorer.progress import human_size

from .common import ExitCode, progress, resolve_secret, secret_options


@click.command("verify")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@secret_options("password", "archive password")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def command(archive: Path, password_env: str | None, password_file: Path | None,
            quiet: bool) -> None:
    """Verify ARCHIVE (any part of it): exit 0 when intact, 1 when damaged."""
    password = resolve_secret("archive password", password_env, password_file, required=False)
    # The dump is copied aside while the archive is read once, then checked (owner-only folder).
    with tempfile.TemporaryDirectory(prefix="sitepack-verify-") as folder:
        dump = DumpCopy(Path(folder))
        with progress("Verifying", quiet=quiet) as bar:
            report = verify(archive, password=password, progress=bar, copy_to=dump)
        dumps = dump.check() if report.ok else []
    for problem in report.problems:
        click.echo(f"DAMAGED: {problem}")
    if report.problem_count > len(report.problems):
        click.echo(f"... and {report.problem_count - len(report.problems)} more problems")
    summary = (f"{report.entries} entries, {human_size(report.bytes)}, {report.format}, "
               f"{report.parts} part(s)")
    if not report.ok:
        click.echo(f"FAILED: {report.archive.name} is damaged ({report.problem_count} "
                   f"problem(s); {summary} read)")
        raise SystemExit(ExitCode.FAILED)
    for _, line in dumps:
        click.echo(f"Database {line}")
    if not all(consistent for consistent, _ in dumps):
        click.echo(f"FAILED: {report.archive.name}: its database dump is not what the backup recorded")
        raise SystemExit(ExitCode.FAILED)
    click.echo(f"OK: {report.archive.name}: {summary}")
    click.echo(f"Checked: {report.what_was_checked()}.")
