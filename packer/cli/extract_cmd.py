"""``sitepack extract``: extract an archive safely into a folder."""

from __future__ import annotations

from pathlib import Path

import click

from restorer.extract import extract_reader
from restorer.formats import open_archive
from restorer.progress import human_size

from .common import progress, resolve_secret, secret_options


@click.command("extract")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@secret_options("password", "archive password")
@click.option("--keep-server-files", is_flag=True,
              help="Write .htaccess, web.config, .user.ini and php.ini under their own names even "
                   "from a site bundle (by default they become *.bak until the restore finishes).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def command(archive: Path, dest: Path, password_env: str | None, password_file: Path | None,
            keep_server_files: bool, quiet: bool) -> None:
    """Extract ARCHIVE (any part of it) into DEST; refuses entries that would escape DEST."""
    password = resolve_secret("archive password", password_env, password_file, required=False)
    with open_archive(archive, password) as reader, progress("Extracting", quiet=quiet) as bar:
        report = extract_reader(reader, dest, progress=bar,
                                server_files_as_bak=False if keep_server_files else "auto")
    checked = ("every file matched the archive's manifest" if report.manifest_checked
               else "the archive has no sitepack manifest, so files were not checked against checksums")
    click.echo(f"Extracted {report.entries} entries ({human_size(report.bytes)}) into {dest}; {checked}")
    if report.renamed:
        click.echo(f"Written as *.bak until the restore finishes: {', '.join(sorted(report.renamed))}")
