"""``sitepack extract``: extract an archive safely into a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from restorer.extract.extractor import extract_reader
from restorer.formats import open_archive
from restorer.private import resolve_private_dir
from restorer.progress import human_size

from .common import progress, resolve_secret, secret_options


@click.command("extract")
@click.argument("archive")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@secret_options("password", "archive password")
@click.option("--keep-server-files", is_flag=True,
              help="Write .htaccess, web.config, .user.ini and php.ini under their own names even "
                   "from a site bundle (by default they become *.bak until the restore finishes).")
@click.option("--private-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where a site bundle's dump, password hash and other restore data go, outside "
                   "DEST (default: $SITEPACK_HOME/restores/<folder>-<hash>; see docs/SECURITY.md).")
@click.option("--endpoint-url", help="For an s3:// ARCHIVE: the S3-compatible server (default: "
                                     "boto3's configuration, e.g. AWS_ENDPOINT_URL, else AWS).")
@click.option("--region", help="For an s3:// ARCHIVE: the bucket's region.")
@click.option("--path-style", is_flag=True, help="For an s3:// ARCHIVE: path-style addressing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def command(archive: str, dest: Path, password_env: str | None, password_file: Path | None,
            keep_server_files: bool, private_dir: Path | None, endpoint_url: str | None,
            region: str | None, path_style: bool, quiet: bool) -> None:
    """Extract ARCHIVE (any part of it; a file, or s3://BUCKET/KEY with the credentials
    from boto3's usual places) into DEST; refuses entries that would escape DEST."""
    password = resolve_secret("archive password", password_env, password_file, required=False)
    downloaded = archive.startswith("s3://")
    if downloaded:
        from packer.storage.offsite import fetch_url
        archive = fetch_url(archive, endpoint_url=endpoint_url, region=region, path_style=path_style)
        if not quiet:
            click.echo(f"Downloaded every part (SHA-256 verified) into {archive.parent}")
    archive = Path(archive)
    private = resolve_private_dir(dest, private_dir)
    with open_archive(archive, password) as reader, progress("Extracting", quiet=quiet) as bar:
        report = extract_reader(reader, dest, progress=bar, private_dir=private,
                                server_files_as_bak=False if keep_server_files else "auto")
    if downloaded:  # extracted and checked: the downloaded copy has served its purpose
        shutil.rmtree(archive.parent, ignore_errors=True)
    checked = ("every file matched the archive's manifest" if report.manifest_checked
               else "the archive has no sitepack manifest, so files were not checked against checksums")
    click.echo(f"Extracted {report.entries} entries ({human_size(report.bytes)}) into {dest}; {checked}")
    if report.private_dir:
        click.echo(f"The restore's private data (database dump, installer password hash, ...) is in "
                   f"{report.private_dir}, outside the site, owner-only")
    if report.renamed:
        click.echo(f"Written as *.bak until the restore finishes: {', '.join(sorted(report.renamed))}")
