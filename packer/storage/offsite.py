"""A finished backup's off-site copy: what its record keeps, finishing its upload, fetching it.

A record's ``offsite`` (``records.Record.offsite``) holds where the parts went (the
storage settings, never a secret, and the folder), and per part its size, its SHA-256
(fixed from the local part before the upload: the reference a fetch checks against,
not what the server says) and whether it is stored. ``sitepack backups upload`` and
``sitepack backups fetch`` work from that alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from restorer.errors import SitepackError
from restorer.formats.parts import ARCHIVE_SUFFIXES, PART_SUFFIX_RE

from .. import records
from ..home import data_dir, private_dir
from . import PartUpload, RemoteObject, Storage, StorageError, new_upload, open_storage
from .base import file_sha256


def offsite_record(storage: Storage, uploads: list[PartUpload], error: str | None) -> dict:
    """What a record keeps about the off-site copy."""
    return {"location": storage.location, "storage": storage.settings, "folder": storage.folder,
            "parts": {u.name: {"size": u.size, "sha256": u.sha256, "stored": u.stored,
                               "resume": u.resume} for u in uploads},
            "error": error}


def _uploads_of(offsite: dict) -> dict[str, PartUpload]:
    return {name: PartUpload(name=name, size=part["size"], sha256=part["sha256"],
                             status="stored" if part["stored"] else "pending",
                             resume=part["resume"])
            for name, part in offsite.get("parts", {}).items()}


def _storage_of(record: records.Record) -> Storage:
    if not record.offsite:
        raise SitepackError(f"backup #{record.id} was not sent to off-site storage (its profile "
                            f"had no 'storage' settings)")
    return open_storage(record.offsite["storage"], record.offsite["folder"])


def upload_backup(backup_id: int) -> records.Record:
    """Stores every part of a finished backup that is not stored yet (``upload-pending``)."""
    record = records.get(backup_id)
    storage = _storage_of(record)
    if record.status not in ("upload-pending", "ok"):
        raise SitepackError(f"backup #{record.id} is {record.status}: only a complete backup "
                            f"can be uploaded")
    uploads = _uploads_of(record.offsite)
    delete_local = record.offsite["storage"]["delete_local"]

    def saved() -> None:
        records.update(record.id, offsite=offsite_record(storage, list(uploads.values()),
                                                         record.offsite.get("error")))

    for path in record.part_paths():
        upload = uploads.get(path.name)
        if upload is None or not upload.stored:
            if not path.exists():
                raise SitepackError(f"{path} is neither stored off-site nor on this disk: the "
                                    f"backup is incomplete; make a new one")
            if upload is None:
                upload = uploads[path.name] = new_upload(path)
            try:
                storage.upload(path, upload, deadline=float("inf"), saved=saved)
            except StorageError:
                storage.abort(upload)
                saved()
                raise
        if delete_local:
            path.unlink(missing_ok=True)
    record.offsite["error"] = None
    saved()
    local = [p for p in record.part_paths() if p.exists()]
    return records.update(record.id, status=records.status_after_upload(
        records.get(record.id).offsite, local))


def fetch_backup(backup_id: int, dest: Path | None = None) -> list[Path]:
    """Downloads every stored part of a backup into ``dest`` (default: its output
    folder), resumably, each verified against the SHA-256 in the record."""
    record = records.get(backup_id)
    storage = _storage_of(record)
    folder = Path(dest) if dest is not None else Path(record.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    uploads = _uploads_of(record.offsite)
    fetched = []
    for path in record.part_paths():
        target = folder / path.name
        upload = uploads.get(path.name)
        if upload is None or not upload.stored:
            if not target.exists():
                raise SitepackError(f"{path.name} was never stored off-site and is not in "
                                    f"{folder}: run `sitepack backups upload {record.id}` on the "
                                    f"machine that made the backup")
        elif not (target.exists() and target.stat().st_size == upload.size
                  and file_sha256(target) == upload.sha256):
            storage.fetch(RemoteObject(upload.name, upload.size, upload.sha256), target)
        fetched.append(target)
    if folder.resolve() == Path(record.output_dir).resolve() and record.status == "remote":
        records.update(record.id, status="ok")
    return fetched


def delete_remote(record: records.Record) -> list[str]:
    """Deletes from the storage exactly the parts the record names (a stored part, or
    what an unfinished upload of one left), nothing else in its folder: several sites
    may share a bucket or a server. Returns the names of the stored parts deleted. On a
    failure the record is left as it is: deleting again is harmless (a part already gone
    is no error), so the same command finishes the job."""
    if not record.offsite:
        return []
    deleted: list[str] = []
    try:
        storage = _storage_of(record)
        try:
            for upload in _uploads_of(record.offsite).values():
                if upload.stored:
                    storage.delete(upload.name)
                    deleted.append(upload.name)
                else:
                    storage.abort(upload)
        finally:
            storage.close()
    except StorageError as exc:
        gone = f" ({', '.join(deleted)} already deleted)" if deleted else ""
        raise StorageError(f"{exc}{gone}") from None
    return deleted


def fetch_url(url: str, *, endpoint_url: str | None = None, region: str | None = None,
              path_style: bool = False) -> Path:
    """Downloads every part of the archive the S3 object ``url`` belongs to (see
    ``download_archive``)."""
    from . import validate_settings
    from .s3 import parse_url
    bucket, folder, name = parse_url(url)
    storage = open_storage(validate_settings({
        "type": "s3", "bucket": bucket, "endpoint_url": endpoint_url, "region": region,
        "path_style": path_style}), folder)
    return download_archive(storage, name, url)


def fetch_sftp_url(url: str, login: dict) -> Path:
    """Downloads every part of the archive the SFTP file ``url`` belongs to (see
    ``download_archive``); ``login``: the SFTP settings saying how to log in and which
    host key to trust (``key_file``, ``known_hosts``, …)."""
    from . import validate_settings
    from .sftp import parse_url
    user, host, port, folder, name = parse_url(url)
    storage = open_storage(validate_settings({
        "type": "sftp", "host": host, "port": port, "user": user, **login}), folder)
    try:
        return download_archive(storage, name, url)
    finally:
        storage.close()


def download_archive(storage: Storage, name: str, url: str) -> Path:
    """Downloads every part of the archive ``name`` is one part of into a private folder
    of this machine's data directory (continued when run again); returns the last
    part's path, for the extractor. Each part is checked against the SHA-256 sitepack
    stored with it."""
    wanted = archive_names(name, storage.names())
    if not wanted:
        raise SitepackError(f"{url} is not there or not an archive part (.jpa, .jps, .zip, "
                            f".j01, .z01, ...): check the URL")
    where = private_dir(data_dir() / "downloads" /
                        hashlib.sha256(url.encode("utf-8")).hexdigest()[:16])
    for part in wanted:
        target = where / part
        if target.exists():  # fetched and verified by an earlier run: no request for it
            continue
        remote = storage.stat(part)  # its stored SHA-256, which the download checks against
        if remote is None:
            raise StorageError(f"{part} vanished from {storage.location} during the download")
        storage.fetch(remote, target)
    return where / wanted[-1]


def archive_names(name: str, names: list[str]) -> list[str]:
    """The names among ``names`` that are parts of the archive ``name`` is one part of,
    in order (numbered parts, then the last part with the real extension)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        return []
    letter = suffix[0].lower()
    finals = [n for n in names if n.rpartition(".")[0] == stem
              and f".{n.rpartition('.')[2].lower()}" in ARCHIVE_SUFFIXES
              and n.rpartition(".")[2][0].lower() == letter]
    numbered = sorted((int(m.group(2)), n) for n in names if n.rpartition(".")[0] == stem
                      for m in [PART_SUFFIX_RE.match("." + n.rpartition(".")[2])]
                      if m and m.group(1).lower() == letter)
    if not finals:
        return []
    return [n for _, n in numbered] + finals[:1]
