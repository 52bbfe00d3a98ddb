"""``sitepack pack``: pack a folder into an archive."""

from __future__ import annotations

from pathlib import Path

import click

from packer.archive import format_for_path
from packer.archive.parts import check_part_size
from packer.archive.tree import pack_tree
from restorer.errors import SitepackError
from restorer.progress import human_size

from .common import ARCHIVE_FORMATS, SIZE, ExitCode, progress, resolve_secret, secret_options

ENCRYPTED_FORMATS = ("jps", "jps2")


@click.command("pack")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "archive", required=True, metavar="ARCHIVE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (.jpa, .jps or .zip; the last part of a split archive).")
@click.option("--format", "fmt", type=click.Choice(ARCHIVE_FORMATS),
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
    encrypted = fmt in ENCRYPTED_FORMATS
    password = resolve_secret("archive password", password_env, password_file,
                              required=encrypted, confirm=True)
    if password is not None and not encrypted:
        raise SitepackError(f"{fmt} archives are not encrypted: drop the password option or "
                            "use --format jps")
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
