"""What an off-site storage backend offers the backup engine and the commands.

A backend (``s3.py``, ``sftp.py``) keeps one backup's archive parts in one remote
*folder* (an S3 key prefix, an SFTP directory), each part under its own file name
(``site.j01`` … ``site.jpa``). It is made from a profile's ``storage`` settings
(validated by the backend's ``validate``: never a secret in them, only where to find
one) and the folder expanded for this backup from the setting named by ``folder_key``
(naming variables allowed). Each backend module names its class ``STORAGE``
(``packer.storage.backend_class``). A profile's settings look like
``{"type": "s3", "delete_local": false, ...the backend's own keys}``.

What the engine relies on:

- ``upload`` sends one finished local part, a piece at a time until a deadline, and is
  resumable in another process: everything it needs to continue (an S3 upload id and
  the finished pieces' ETags, an SFTP temp file's verified length) lives in
  ``PartUpload.resume``, which the engine saves in the backup state; the backend calls
  ``saved()`` after each piece is durably stored remotely so that the state on disk
  never claims a piece the server lacks, and a resumed upload never sends a stored
  piece again. A part counts only once ``verify`` found its size and SHA-256 on the
  remote side.
- ``abort`` removes what an unfinished upload left remotely (an open S3 multipart
  upload, an SFTP temp file), so a backup that fails for good leaves nothing half-sent.
- ``fetch`` downloads a part resumably (``<dest>.partial`` is continued) and verifies
  size and SHA-256 before the file takes its real name.
- ``names`` lists a folder in one request (a download finds an archive's parts by it);
  ``stat`` reads one part's size and stored SHA-256 (a request of its own on S3, so
  only for the parts a download fetches, never per object listed); ``delete`` serves
  retention and ``sitepack backups delete``.

Every failure a user can cause (wrong credentials, missing bucket or folder,
unreachable server, altered remote part) is a ``StorageError`` with one line saying
what is wrong and what to do, never a secret.
"""

from __future__ import annotations

import dataclasses
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from restorer.errors import SitepackError

#: Suffix of a download in progress (``fetch`` continues it, then renames it).
PARTIAL_SUFFIX = ".partial"
#: Read size for hashing local files.
_HASH_CHUNK = 1024 * 1024


class StorageError(SitepackError):
    """Off-site storage refused or failed an operation (one line, no secret)."""


@dataclasses.dataclass(frozen=True)
class RemoteObject:
    """One part as the remote side has it."""

    name: str                   # the part's file name inside the folder
    size: int
    sha256: str | None          # as stored with the part; None when the part carries none


@dataclasses.dataclass
class PartUpload:
    """One part's upload; saved in the backup state (``dataclasses.asdict``) between steps."""

    name: str                   # the part's file name (local and remote)
    size: int
    sha256: str
    status: str = "pending"     # pending → stored (verified remotely)
    resume: dict = dataclasses.field(default_factory=dict)  # the backend's own progress

    @property
    def stored(self) -> bool:
        return self.status == "stored"


class Storage(ABC):
    """One remote folder holding one backup's parts (see the module docstring)."""

    #: The profile's ``storage.type`` and the URL scheme of ``location``.
    scheme: ClassVar[str]
    #: The setting that holds the folder template (naming variables allowed).
    folder_key: ClassVar[str]

    def __init__(self, settings: dict, folder: str):
        self.settings = settings    # as ``validate`` returned them
        self.folder = folder        # expanded for this backup

    # -- settings --------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def validate(cls, settings: dict) -> dict:
        """The backend's settings checked and completed with defaults (``type`` and
        ``delete_local`` are checked by ``packer.storage.validate_settings``); raises
        ``SitepackError`` naming the bad field."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the parts go, as a URL without any secret (``s3://bucket/prefix/``)."""

    @abstractmethod
    def check(self) -> None:
        """Raises ``StorageError`` unless the server answers, the credentials are
        accepted and the destination exists (run before a backup starts uploading)."""

    # -- one part ----------------------------------------------------------------------
    @abstractmethod
    def upload(self, local: Path, upload: PartUpload, *, deadline: float,
               saved: Callable[[], None]) -> bool:
        """Sends ``local`` as ``upload.name`` until ``deadline`` (``time.monotonic()``),
        continuing from ``upload.resume``; calls ``saved()`` after each piece stored.
        True once the whole part is stored and verified (``upload.status`` is then
        ``stored``), False when the deadline came first."""

    @abstractmethod
    def abort(self, upload: PartUpload) -> None:
        """Removes what an unfinished upload left remotely; harmless when nothing is left."""

    @abstractmethod
    def stat(self, name: str) -> RemoteObject | None:
        """The part ``name`` as stored, or None when it is not there."""

    @abstractmethod
    def fetch(self, remote: RemoteObject, dest: Path) -> None:
        """Downloads ``remote`` into ``dest``, continuing ``dest + PARTIAL_SUFFIX``;
        verifies size and SHA-256 (``verify_local``) before renaming it to ``dest``."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Deletes the part ``name`` (no error when it is already gone)."""

    @abstractmethod
    def names(self) -> list[str]:
        """The names of the parts in this folder (one listing)."""

    def close(self) -> None:
        """Lets go of the connection (nothing to do for a backend without one)."""

    # -- shared rules --------------------------------------------------------------------
    def verify(self, upload: PartUpload) -> None:
        """Raises ``StorageError`` unless the remote part has the local size and SHA-256."""
        remote = self.stat(upload.name)
        if remote is None:
            raise StorageError(f"{upload.name} is not on {self.location} after its upload; "
                               f"the local part is kept: run `sitepack backups upload` again")
        if remote.size != upload.size or remote.sha256 != upload.sha256:
            raise StorageError(f"{upload.name} on {self.location} differs from the local part "
                               f"(size {remote.size} vs {upload.size}); the local part is kept: "
                               f"run `sitepack backups upload` again")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a local file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def new_upload(local: Path) -> PartUpload:
    """The upload of a finished local part: its name, size and SHA-256 fixed now."""
    return PartUpload(name=local.name, size=local.stat().st_size, sha256=file_sha256(local))


def verify_local(path: Path, remote: RemoteObject) -> None:
    """Raises ``StorageError`` unless the downloaded ``path`` matches ``remote``."""
    size = path.stat().st_size
    if size != remote.size:
        raise StorageError(f"{remote.name}: downloaded {size} bytes but the part has "
                           f"{remote.size}; run the fetch again")
    if remote.sha256 is None:
        raise StorageError(f"{remote.name} carries no SHA-256 on the server, so it cannot be "
                           f"verified; it was not uploaded by sitepack")
    if file_sha256(path) != remote.sha256:
        raise StorageError(f"{remote.name} does not match the SHA-256 stored with it: the remote "
                           f"part was altered or damaged after upload; do not restore from it")
