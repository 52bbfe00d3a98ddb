"""What a backup puts under ``installation/`` besides the files of the site.

- the restorer runtime (``restorer`` package, wizard templates, vendored pure-Python
  dependencies, ``restore.py``), listed by ``packer.bundle_runtime`` — full backups;
- ``sql/site.sql`` (+ ``site.s01``…) and ``sql/databases.json`` (FORMATS.md §5, the
  database password blanked) — full and database-only backups;
- ``extrainfo.json`` (origin host, backup date UTC ``Y-m-d H:i:s``, tool version,
  original root, platform and version, prefix, live site, backup id and description);
- ``README.html`` (``templates/readme.html``, autoescaped) with the description and
  comment — full backups only;
- ``password.json`` when an installer password was given: only its salted scrypt hash
  (format in ``restorer.restore.install_password`` and docs/BACKUP.md), never the password.

The manifest (``installation/sitepack-manifest.tsv.gz``) is written by the archive
writer itself when it closes.

Generated files are first written into the backup's working folder and then archived
from there, so a resumed backup archives exactly the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Iterator

import jinja2

from restorer import __version__
from restorer.bundle import EXTRAINFO, INSTALLATION, README, SITE_DUMP
from restorer.bundle import SQL_DIR as _SQL_DIR
from restorer.paths import templates_dir
from restorer.restore.install_password import PASSWORD_FILE, password_file_text

from . import bundle_runtime

#: Where the dumps and ``databases.json`` sit in the archive.
SQL_DIR = f"{INSTALLATION}/{_SQL_DIR}"


def runtime_entries() -> Iterator[tuple[str, Path]]:
    """(archive path, source file) of the restorer runtime every full backup carries."""
    for rel, source in bundle_runtime.runtime_files():
        yield f"{INSTALLATION}/{rel}", Path(source)


def installer_password_record(password: str) -> str:
    """The text of ``installation/password.json`` (salted slow hash) for ``password``."""
    return password_file_text(password)


def databases_json(entry: dict) -> bytes:
    """``databases.json`` for the site's own dump, with the database password blanked."""
    entry = dict(entry)
    entry["dbpass"] = ""
    return (json.dumps({SITE_DUMP: entry}, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def extrainfo(*, host: str, root: str, backup_id: int, description: str,
              started_utc: dt.datetime, platform: str | None, platform_version: str | None,
              prefix: str | None, live_site: str | None, site_name: str | None) -> dict:
    return {
        "host": host,
        "backup_date": started_utc.strftime("%Y-%m-%d %H:%M:%S"),
        "tool_version": __version__,
        "root": root,
        "platform": platform or "",
        "platform_version": platform_version or "",
        "prefix": prefix or "",
        "site_url": live_site or "",
        "site_name": site_name or "",
        "backup_id": backup_id,
        "description": description,
    }


def readme_html(*, description: str, comment: str, info: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("readme.html").render(description=description, comment=comment,
                                                  info=info)


def write_generated(folder: Path, *, info: dict, description: str, comment: str,
                    full: bool, password_record: str | None) -> list[tuple[str, Path]]:
    """Writes ``extrainfo.json``, README.html and password.json into ``folder``.

    Returns (archive path, file) pairs in archive order. README.html and the password
    hash belong to full backups only: a database-only archive has no wizard to guard.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path]] = []

    def put(name: str, data: str) -> None:
        path = folder / name
        path.write_text(data, encoding="utf-8")
        path.chmod(0o600)
        out.append((f"{INSTALLATION}/{name}", path))

    put(EXTRAINFO, json.dumps(info, indent=1, ensure_ascii=False) + "\n")
    if full:
        put(README, readme_html(description=description, comment=comment, info=info))
        if password_record:
            put(PASSWORD_FILE, password_record)
    return out
