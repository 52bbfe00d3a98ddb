"""``sitepack pack``: pack a folder into an archive."""

from __future__ import annotations

from pathlib import Path

import click

from packer.archive import FORMATS, format_for_path
from packer.archive.parts import check_part_size
from packer.archive.tree import pack_tree
from packer.engine.password import archive_password_for
from restorer.progress import human_size

from .common import SIZE, ExitCode, ask_on_terminal, progress, resolve_secret, secret_options


@click.command("pack")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "archive", required=True, metavar="ARCHIVE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (.jpa, .jps or .zip; the last part of a split archive).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Archive format (default: from the extension; .jps means jps).")
@click.option("--part-size", type=SIZE, metavar="SIZE",
              help="Split into parts of SIZE (at least 64K), e.g. 100M.")
@secret_options("password", "archive password")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def command(folder: Path, archive: Path, fmt: str | None, part_size: int | None,
            password_env: str | None, password_file: Path | None, quiet: bool) -> None:
    """Pack FOLDER into an archive (with a manifest for `sitepack verify`)."""
    fmt = fmt or format_for_path(archive)
    check_part_size(part_size)
    password = archive_password_for(
        fmt, resolve_secret("archive password", password_env, password_file, required=False),
        origin="pack", ask=ask_on_terminal("archive password", confirm=True))
    with progress("Packing", quiet=quiet) as bar:
        report = pack_tree(folder, archive, fmt, part_size=part_size, password=password,
                           progress=bar)
    for warning in report.warnings:
        click.echo(f"WARNING: {warning}", err=True)
    size = sum(p.stat().st_size for p in report.parts)
    parts = f" in {len(report.parts)} parts" if len(report.parts) > 1 else ""
    click.echo(f"Wrote {report.parts[-1]}{parts}: {report.entries} entries, "
               f"{human_size(report.bytes)} of data, archive {human_size(size)}")
    if report.warnings:
        click.echo(f"{len(report.warnings)} warning(s): some entries were skipped", err=True)
        raise SystemExit(ExitCode.WARNINGS)
