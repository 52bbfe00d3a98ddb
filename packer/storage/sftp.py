"""SFTP storage (any OpenSSH server) via paramiko.

Settings (a profile's ``storage`` with ``"type": "sftp"``): ``host``, ``port`` (22),
``user``, ``folder`` (naming variables allowed; relative to the login folder unless it
starts with ``/``); how to log in: ``key_file`` (with ``key_passphrase_env`` when the
key is encrypted), ``use_agent`` (the keys of the running ssh-agent), or a password
from ``password_env`` / ``password_file``; how to trust the server: ``known_hosts`` (a
known_hosts file, default ``~/.ssh/known_hosts``) or ``host_key_sha256`` (the
``SHA256:…`` fingerprint ``ssh-keygen -lf`` prints). The server's key is checked
before anything is sent; an unknown or changed key is refused, never learned.

A part is written as ``NAME.partial`` a piece at a time (``PartUpload.resume`` holds
how many bytes the server acknowledged), read back whole to compare its SHA-256, then
its checksum goes beside it as ``NAME.sha256`` (``sha256sum -c`` format) and it is
renamed to ``NAME``. ``stat`` reports the part's size with that stored checksum, so a
fetch detects a part altered after its upload.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import socket
import stat as stat_module
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko

from restorer.errors import SitepackError

from .base import PARTIAL_SUFFIX, PartUpload, RemoteObject, Storage, StorageError
from .common import checked_settings, download, piece_size, setting_error

CHECKSUM_SUFFIX = ".sha256"
MIN_PIECE = 64 * 1024
DEFAULT_PIECE = 8 * 1024 * 1024
_IO_CHUNK = 32 * 1024
_READ_CHUNK = 1024 * 1024
_TIMEOUT = 20
_TEXT_KEYS = ("host", "user", "folder", "key_file", "key_passphrase_env", "password_env",
              "password_file", "known_hosts", "host_key_sha256")
_SECRET_KEYS = ("password", "passphrase", "key_passphrase", "private_key", "key")


class SftpStorage(Storage):
    scheme = "sftp"
    folder_key = "folder"

    @classmethod
    def validate(cls, settings: dict) -> dict:
        checked = checked_settings(
            settings, text_keys=_TEXT_KEYS, other_keys=("port", "use_agent", "piece_size"),
            secret_keys=_SECRET_KEYS, secret_hint=lambda key: "name an environment variable or "
            "a file that holds it (password_env, password_file, key_passphrase_env)")
        for key in ("host", "user"):
            if not checked[key]:
                raise setting_error(key, f"name the SFTP server's {key}")
        checked["folder"] = checked["folder"] or ""
        port = settings.get("port") or 22
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise setting_error("port", f"{port!r} is not a port number (1-65535)")
        use_agent = settings.get("use_agent", False)
        if not isinstance(use_agent, bool):
            raise setting_error("use_agent", "must be true or false")
        if not (checked["key_file"] or use_agent or checked["password_env"]
                or checked["password_file"]):
            raise setting_error("key_file", "say how to log in: key_file, use_agent, "
                                "password_env or password_file")
        if checked["password_env"] and checked["password_file"]:
            raise setting_error("password_env", "give password_env or password_file, not both")
        fingerprint = checked["host_key_sha256"]
        if fingerprint and not fingerprint.startswith("SHA256:"):
            raise setting_error("host_key_sha256", "write the fingerprint as `ssh-keygen -lf` "
                                "prints it: SHA256:…")
        if fingerprint and checked["known_hosts"]:
            raise setting_error("host_key_sha256", "pin the fingerprint or name a known_hosts "
                                "file, not both")
        return {**checked, "port": port, "use_agent": use_agent,
                "piece_size": piece_size(settings, default=DEFAULT_PIECE, minimum=MIN_PIECE)}

    def __init__(self, settings: dict, folder: str):
        super().__init__(settings, folder)
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def _server(self) -> str:
        s = self.settings
        return f"{s['user']}@{s['host']}" + (f":{s['port']}" if s["port"] != 22 else "")

    @property
    def location(self) -> str:
        folder = self.folder.strip("/")
        slash = "/" if self.folder.startswith("/") else ""
        return f"sftp://{self._server}/{slash}{folder + '/' if folder else ''}"

    def path(self, name: str) -> str:
        return posixpath.join(self.folder, name) if self.folder else name

    # -- the connection ------------------------------------------------------------------
    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._sftp = self._connect()
        return self._sftp

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._transport = self._sftp = None

    def _connect(self) -> paramiko.SFTPClient:
        s = self.settings
        where = f"{s['host']}:{s['port']}"
        try:
            sock = socket.create_connection((s["host"], s["port"]), timeout=_TIMEOUT)
        except OSError as exc:
            raise StorageError(f"cannot reach the SFTP server {where} ({exc.strerror or exc}); "
                               f"check storage.host and storage.port") from None
        transport = paramiko.Transport(sock)
        self._transport = transport
        try:
            trusted = self._trusted_keys()
            if trusted:  # ask for the key type known_hosts holds, not the server's favourite
                options = transport.get_security_options()
                options.key_types = [t for t in options.key_types
                                     if _key_name(t) in trusted] or options.key_types
            transport.start_client(timeout=_TIMEOUT)
            self._check_host_key(transport.get_remote_server_key(), trusted)
            self._log_in(transport)
            return paramiko.SFTPClient.from_transport(transport)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise StorageError(f"SFTP connection to {where} failed ({type(exc).__name__}: {exc})"
                               ) from None
        except BaseException:
            self.close()
            raise

    def _known_hosts_file(self) -> Path:
        return Path(self.settings["known_hosts"] or "~/.ssh/known_hosts").expanduser()

    def _trusted_keys(self) -> dict[str, paramiko.PKey]:
        """Key type → key the known_hosts file trusts for this host (empty when pinned)."""
        s = self.settings
        if s["host_key_sha256"]:
            return {}
        path = self._known_hosts_file()
        try:
            known = paramiko.HostKeys(str(path))
        except OSError as exc:
            raise StorageError(f"cannot read the known_hosts file {path} ({exc.strerror}); name "
                               f"one in storage.known_hosts or pin storage.host_key_sha256") from None
        name = s["host"] if s["port"] == 22 else f"[{s['host']}]:{s['port']}"
        return dict(known.lookup(name) or {})

    def _check_host_key(self, key: paramiko.PKey, trusted: dict[str, paramiko.PKey]) -> None:
        s = self.settings
        seen = f"{key.get_name()} {key.fingerprint}"
        where = f"{s['host']}:{s['port']}"
        if s["host_key_sha256"]:
            if key.fingerprint != s["host_key_sha256"]:
                raise StorageError(f"the SFTP server {where} showed the host key {seen}, not the "
                                   f"pinned {s['host_key_sha256']}: refusing to connect (a "
                                   f"different server, or its key changed; check with its admin)")
            return
        expected = trusted.get(key.get_name())
        if expected is None:
            raise StorageError(f"the host key of the SFTP server {where} ({seen}) is not in "
                               f"{self._known_hosts_file()}: refusing to connect; check the "
                               f"fingerprint with the server's admin, then add it (ssh-keyscan) "
                               f"or pin it in storage.host_key_sha256")
        if expected != key:
            raise StorageError(f"the host key of the SFTP server {where} ({seen}) differs from "
                               f"the one in {self._known_hosts_file()}: refusing to connect (a "
                               f"different server, or its key changed; check with its admin)")

    def _log_in(self, transport: paramiko.Transport) -> None:
        s = self.settings
        user, where = s["user"], f"{s['host']}:{s['port']}"
        for key in self._keys():
            try:
                transport.auth_publickey(user, key)
            except paramiko.AuthenticationException:
                continue
            return
        password = self._password()
        if password is not None:
            try:
                transport.auth_password(user, password)
                return
            except paramiko.AuthenticationException:
                pass
        raise StorageError(f"the SFTP server {where} refused the login of {user!r} with the "
                           f"profile's key/password; check storage.user and that the server "
                           f"accepts the key (authorized_keys)")

    def _keys(self) -> list[paramiko.PKey]:
        s = self.settings
        keys: list[paramiko.PKey] = []
        if s["key_file"]:
            path = Path(s["key_file"]).expanduser()
            passphrase = _from_env(s["key_passphrase_env"], "key_passphrase_env")
            try:
                keys.append(paramiko.PKey.from_path(path, password=passphrase))
            except OSError as exc:
                raise StorageError(f"cannot read the SSH key {path} ({exc.strerror}); fix "
                                   f"storage.key_file") from None
            except paramiko.PasswordRequiredException:
                raise StorageError(f"the SSH key {path} is encrypted: name the variable holding "
                                   f"its passphrase in storage.key_passphrase_env") from None
            except paramiko.SSHException as exc:
                raise StorageError(f"the SSH key {path} cannot be used ({exc}); fix "
                                   f"storage.key_file or its passphrase") from None
        if s["use_agent"]:
            keys.extend(paramiko.Agent().get_keys())
        return keys

    def _password(self) -> str | None:
        s = self.settings
        if s["password_env"]:
            return _from_env(s["password_env"], "password_env")
        if s["password_file"]:
            path = Path(s["password_file"]).expanduser()
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise StorageError(f"cannot read the SFTP password from {path} "
                                   f"({exc.strerror}); fix storage.password_file") from None
            if not lines or not lines[0]:
                raise StorageError(f"{path} is empty (its first line should hold the SFTP password)")
            return lines[0]
        return None

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turns paramiko's and the server's failures into one line saying what to do."""
        try:
            yield
        except StorageError:
            raise
        except PermissionError:
            raise StorageError(f"{what}: permission denied on {self.location}; check the "
                               f"folder's owner and storage.folder") from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            self.close()
            raise StorageError(f"{what}: {type(exc).__name__}: {exc}; check the SFTP server "
                               f"and run the command again") from None

    def _make_folder(self) -> None:
        done = ""
        for piece in self.folder.split("/"):
            done = posixpath.join(done, piece) if done else (piece or "/")
            if piece in ("", "."):
                continue
            try:
                self.sftp.stat(done)
            except FileNotFoundError:
                self.sftp.mkdir(done, 0o700)

    def check(self) -> None:
        with self._errors(f"checking {self.location}"):
            self._make_folder()
            if not stat_module.S_ISDIR(self.sftp.stat(self.folder or ".").st_mode):
                raise StorageError(f"{self.location} is not a folder; fix storage.folder")

    # -- one part ------------------------------------------------------------------------
    def upload(self, local: Path, upload: PartUpload, *, deadline: float,
               saved: Callable[[], None]) -> bool:
        if upload.stored:
            return True
        temp = self.path(upload.name + PARTIAL_SUFFIX)
        with self._errors(f"uploading {upload.name} to {self.location}"):
            if "sent" not in upload.resume:
                self._make_folder()
                upload.resume["sent"] = 0
            try:
                on_server = self.sftp.stat(temp).st_size
            except FileNotFoundError:
                on_server = 0
            # Resume from what both sides agree on: the server acknowledged it and the
            # state saved it. Anything beyond is written again over itself.
            offset = min(upload.resume["sent"], on_server)
            piece = self.settings["piece_size"]
            with open(local, "rb") as source, self.sftp.open(temp, "r+" if offset else "w") as out:
                out.chmod(0o600)
                source.seek(offset)
                out.seek(offset)
                while offset < upload.size:
                    if time.monotonic() >= deadline:
                        return False
                    end = min(offset + piece, upload.size)
                    while offset < end:
                        chunk = source.read(min(_IO_CHUNK, end - offset))
                        out.write(chunk)
                        offset += len(chunk)
                    out.flush()
                    upload.resume["sent"] = offset
                    saved()
                out.truncate(upload.size)
            self._verify_temp(temp, upload)
            with self.sftp.open(self.path(upload.name + CHECKSUM_SUFFIX), "w") as sums:
                sums.write(f"{upload.sha256}  {upload.name}\n".encode())
            self.sftp.posix_rename(temp, self.path(upload.name))
        self.verify(upload)
        upload.status, upload.resume = "stored", {}
        saved()
        return True

    def _verify_temp(self, temp: str, upload: PartUpload) -> None:
        """Reads the uploaded file back; a mismatch starts the part over."""
        size, digest = self._read_back(temp)
        if (size, digest) != (upload.size, upload.sha256):
            self.sftp.remove(temp)
            upload.resume.clear()
            raise StorageError(f"{upload.name} read back from {self.location} differs from the "
                               f"local part ({size} of {upload.size} bytes); it was removed: "
                               f"run the upload again")

    def _read_back(self, path: str) -> tuple[int, str]:
        digest, size = hashlib.sha256(), 0
        with self.sftp.open(path, "rb") as remote:
            remote.prefetch()
            while chunk := remote.read(_READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    def abort(self, upload: PartUpload) -> None:
        with self._errors(f"removing the unfinished upload of {upload.name} from {self.location}"):
            _remove_quietly(self.sftp, self.path(upload.name + PARTIAL_SUFFIX))
        upload.resume.clear()

    def stat(self, name: str) -> RemoteObject | None:
        with self._errors(f"looking up {name} on {self.location}"):
            try:
                size = self.sftp.stat(self.path(name)).st_size
            except FileNotFoundError:
                return None
            try:
                with self.sftp.open(self.path(name + CHECKSUM_SUFFIX), "rb") as sums:
                    words = sums.read(4096).decode("ascii", "replace").split()
            except FileNotFoundError:
                words = []
        digest = words[0].lower() if words and len(words[0]) == 64 else None
        return RemoteObject(name, size, digest)

    def fetch(self, remote: RemoteObject, dest: Path) -> None:
        def read_from(offset: int) -> Iterator[bytes]:
            with self.sftp.open(self.path(remote.name), "rb") as source:
                source.seek(offset)
                source.prefetch(remote.size - offset)
                while chunk := source.read(_READ_CHUNK):
                    yield chunk

        download(remote, dest, read_from,
                 self._errors(f"downloading {remote.name} from {self.location}"))

    def delete(self, name: str) -> None:
        with self._errors(f"deleting {name} from {self.location}"):
            for path in (name, name + CHECKSUM_SUFFIX, name + PARTIAL_SUFFIX):
                _remove_quietly(self.sftp, self.path(path))

    def names(self) -> list[str]:
        with self._errors(f"listing {self.location}"):
            try:
                entries = self.sftp.listdir_attr(self.folder or ".")
            except FileNotFoundError:
                return []
        return sorted(e.filename for e in entries if stat_module.S_ISREG(e.st_mode or 0)
                      and not e.filename.endswith((CHECKSUM_SUFFIX, PARTIAL_SUFFIX)))


def _key_name(algorithm: str) -> str:
    """The key type a host-key algorithm signs with (RSA keys sign as rsa-sha2-*)."""
    return "ssh-rsa" if algorithm.startswith("rsa-sha2-") else algorithm.removesuffix("-cert-v01@openssh.com")


def _from_env(name: str | None, field: str) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise StorageError(f"the environment variable {name} (storage.{field}) is not set: "
                           f"export it before the backup runs")
    return value


def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
    try:
        sftp.remove(path)
    except FileNotFoundError:
        pass


def parse_url(url: str) -> tuple[str, str, int, str, str]:
    """``sftp://user@host:port/folder/name`` → (user, host, port, folder, name); a folder
    after ``host/`` is relative to the login folder, after ``host//`` absolute."""
    rest = url.removeprefix("sftp://")
    login, _, path = rest.partition("/")
    user, _, hostport = login.rpartition("@")
    host, _, port = hostport.partition(":")
    folder, _, name = path.rpartition("/")
    if not url.startswith("sftp://") or not user or not host or not name or (port and not port.isdigit()):
        raise SitepackError(f"{url!r} is not an SFTP file URL: write it as "
                            f"sftp://USER@HOST[:PORT]/FOLDER/NAME")
    return user, host, int(port or 22), folder, name


STORAGE = SftpStorage
