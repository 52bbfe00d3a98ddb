"""``sitepack ls``: list an archive's entries."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import click

from restorer.extract.textsafe import shown_name
from restorer.formats import MANIFEST_VERSIONS, open_archive

from .common import resolve_secret, secret_options


@click.command("ls")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@secret_options("password", "archive password")
def command(archive: Path, password_env: str | None, password_file: Path | None) -> None:
    """List the entries of ARCHIVE (any part of it): mode, size, time, path."""
    password = resolve_secret("archive password", password_env, password_file, required=False)
    count = 0
    has_manifest = False
    with open_archive(archive, password) as reader:
        for entry, _ in reader.entries():
            has_manifest = has_manifest or entry.path in MANIFEST_VERSIONS
            when = (time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.mtime))
                    if entry.mtime is not None else "?" * 16)
            name = shown_name(entry.path) + ("/" if entry.is_dir else "")
            if entry.is_symlink:
                name += f" -> {shown_name(entry.target)}"
            click.echo(f"{stat.filemode(entry.mode)} {entry.size:>12} {when} {name}")
            count += 1
        click.echo(f"{count} entries, {reader.format}, {len(reader.parts)} part(s)", err=True)
        if not has_manifest and not reader.has_checksums:
            click.echo("No checksums: this archive carries no sitepack manifest (archives made by "
                       "Akeeba Backup never do); `sitepack verify` can check only its structure, "
                       "decompression and decryption.", err=True)
