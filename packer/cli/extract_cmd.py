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
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="For an sftp:// ARCHIVE: the SSH private key to log in with.")
@click.option("--use-agent", is_flag=True, help="For an sftp:// ARCHIVE: log in with ssh-agent's keys.")
@click.option("--known-hosts", type=click.Path(dir_okay=False, path_type=Path),
              help="For an sftp:// ARCHIVE: the known_hosts file that trusts the server "
                   "(default: ~/.ssh/known_hosts).")
@click.option("--host-key-sha256", metavar="SHA256:…",
              help="For an sftp:// ARCHIVE: trust only the server key with this fingerprint.")
@click.option("--sftp-password-env", metavar="VAR",
              help="For an sftp:// ARCHIVE: log in with the password in environment variable VAR.")
@click.option("--sftp-password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="For an sftp:// ARCHIVE: log in with the password on FILE's first line.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def command(archive: str, dest: Path, password_env: str | None, password_file: Path | None,
            keep_server_files: bool, private_dir: Path | None, endpoint_url: str | None,
            region: str | None, path_style: bool, key_file: Path | None, use_agent: bool,
            known_hosts: Path | None, host_key_sha256: str | None, sftp_password_env: str | None,
            sftp_password_file: Path | None, quiet: bool) -> None:
    """Extract ARCHIVE (any part of it: a file; s3://BUCKET/KEY with the credentials from
    boto3's usual places; sftp://USER@HOST[:PORT]/FOLDER/NAME, FOLDER relative to the
    login folder, //FOLDER absolute) into DEST; refuses entries that would escape DEST."""
    password = resolve_secret("archive password", password_env, password_file, required=False)
    downloaded = archive.startswith(("s3://", "sftp://"))
    if downloaded:
        from packer.storage.offsite import fetch_sftp_url, fetch_url
        if archive.startswith("s3://"):
            archive = fetch_url(archive, endpoint_url=endpoint_url, region=region,
                                path_style=path_style)
        else:
            archive = fetch_sftp_url(archive, {
                "key_file": str(key_file) if key_file else None, "use_agent": use_agent,
                "known_hosts": str(known_hosts) if known_hosts else None,
                "host_key_sha256": host_key_sha256, "password_env": sftp_password_env,
                "password_file": str(sftp_password_file) if sftp_password_file else None})
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
