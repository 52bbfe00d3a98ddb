"""A real SFTP server on loopback for the storage tests: Debian's OpenSSH ``sshd``.

``SftpServer`` makes its own host key, a client key pair and an ``sshd_config`` in its
work folder, then runs ``/usr/sbin/sshd -D -e -f CONFIG`` on a free 127.0.0.1 port:
public-key login only, for the user running the tests, SFTP only (``internal-sftp``).
``known_hosts`` and ``fingerprint`` describe its host key as a client should trust it;
``other_key`` makes a key pair the server does not know. Stopped by PID.

Run as root, sshd needs its privilege-separation folder ``/run/sshd`` (made by the
ssh service's start on a normal system); it is made here when missing.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import subprocess
from pathlib import Path

from .webservers import LoopbackServer

SSHD = "/usr/sbin/sshd"
_PRIVSEP_DIR = Path("/run/sshd")


def make_key(path: Path, kind: str = "ed25519") -> Path:
    """A new private key at ``path`` (public key beside it as ``path.pub``), no passphrase."""
    path.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "sitepack-test", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)
    return path


def public_blob(public_key_file: Path) -> tuple[str, bytes]:
    """(key type, key blob) of an OpenSSH ``.pub`` file."""
    kind, data = public_key_file.read_text().split()[:2]
    return kind, base64.b64decode(data)


def sha256_fingerprint(blob: bytes) -> str:
    """OpenSSH's ``SHA256:…`` fingerprint of a key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class SftpServer(LoopbackServer):
    name = "sshd"

    def __init__(self, workdir: Path, host: str = "127.0.0.1", port: int | None = None):
        super().__init__(host, port)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.user = getpass.getuser()
        self.host_key = make_key(self.workdir / "host_ed25519")
        self.client_key = make_key(self.workdir / "client_ed25519")
        (self.workdir / "authorized_keys").write_text(
            Path(f"{self.client_key}.pub").read_text())
        self.config = self.workdir / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}", f"ListenAddress {self.host}", f"HostKey {self.host_key}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
            f"AllowUsers {self.user}", "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no",
            "StrictModes no",  # the test folders sit under the world-writable /tmp
            "Subsystem sftp internal-sftp", "ForceCommand internal-sftp",
            "AllowTcpForwarding no", "X11Forwarding no", "LogLevel VERBOSE", ""]))

    @property
    def fingerprint(self) -> str:
        return sha256_fingerprint(public_blob(Path(f"{self.host_key}.pub"))[1])

    def known_hosts(self, path: Path) -> Path:
        """A known_hosts file that trusts this server's host key (as ``[host]:port``)."""
        kind, blob = public_blob(Path(f"{self.host_key}.pub"))
        path.write_text(f"[{self.host}]:{self.port} {kind} {base64.b64encode(blob).decode()}\n")
        return path

    def other_key(self, name: str = "stranger_ed25519") -> Path:
        """A key pair this server does not accept."""
        return make_key(self.workdir / name)

    def command(self) -> list[str]:
        if os.geteuid() == 0:
            _PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        return [SSHD, "-D", "-e", "-f", str(self.config)]

    def log_path(self) -> Path:
        return self.workdir / "sshd.log"

    def log_text(self) -> str:
        return self.log_path().read_text(errors="replace")
