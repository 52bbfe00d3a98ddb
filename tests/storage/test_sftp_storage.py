"""SFTP storage (packer/storage/sftp.py) against Debian's OpenSSH server on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from packer.storage import PartUpload, RemoteObject, StorageError, new_upload, open_storage, validate_settings
from tests.storage.conftest import sftp_settings

FAR = float("inf")


@pytest.fixture
def remote_root(tmp_path) -> Path:
    root = tmp_path / "remote"
    root.mkdir()
    return root


def settings(sshd, tmp_path, **changes) -> dict:
    base = {**sftp_settings(sshd, tmp_path, ""), **changes}
    return validate_settings({k: v for k, v in base.items() if v is not None})


def part(tmp_path, name="site.j01", size=300 * 1024 + 17) -> Path:
    path = tmp_path / "local" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def test_upload_piece_by_piece_verify_names_stat_fetch_delete(sshd, tmp_path, remote_root):
    storage = open_storage(settings(sshd, tmp_path), str(remote_root / "site" / "2026-12-07"))
    local, other = part(tmp_path), part(tmp_path, "someone-else.jpa", 10)
    upload = new_upload(local)
    saves = []
    assert storage.upload(local, upload, deadline=FAR, saved=lambda: saves.append(dict(upload.resume)))
    assert upload.stored and upload.resume == {}
    assert [s["sent"] for s in saves[:-1]] == [65536, 131072, 196608, 262144, local.stat().st_size]
    folder = remote_root / "site" / "2026-12-07"
    assert (folder / "site.j01").read_bytes() == local.read_bytes()
    assert (folder / "site.j01.sha256").read_text() == f"{upload.sha256}  site.j01\n"
    assert (folder / "site.j01").stat().st_mode & 0o777 == 0o600
    (folder / "someone-else.jpa").write_bytes(other.read_bytes())

    assert storage.names() == ["site.j01", "someone-else.jpa"]
    assert [(o.name, o.size, o.sha256) for o in map(storage.stat, storage.names())] == [
        ("site.j01", upload.size, upload.sha256), ("someone-else.jpa", 10, None)]
    fetched = tmp_path / "fetched" / "site.j01"
    fetched.parent.mkdir()
    storage.fetch(storage.stat("site.j01"), fetched)
    assert fetched.read_bytes() == local.read_bytes()

    storage.delete("site.j01")
    assert sorted(p.name for p in folder.iterdir()) == ["someone-else.jpa"]
    storage.close()


_KILLER = """
import json, os, signal, sys
from pathlib import Path
from tests.storage.conftest import sftp_settings
from packer.storage import new_upload, open_storage
settings, folder, local, state_file, kill_after = json.loads(sys.argv[1])
storage = open_storage(settings, folder)
upload = new_upload(Path(local))
saves = 0
def saved():
    global saves
    saves += 1
    Path(state_file).write_text(json.dumps({**upload.__dict__}))
    if saves == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
storage.upload(Path(local), upload, deadline=float("inf"), saved=saved)
"""


def test_killed_upload_resumes_without_sending_stored_pieces_again(sshd, tmp_path, remote_root,
                                                                     monkeypatch):
    config = settings(sshd, tmp_path)
    local = part(tmp_path, size=10 * 64 * 1024 + 5)
    state_file = tmp_path / "upload.json"
    killed = subprocess.run([sys.executable, "-c", _KILLER, json.dumps(
        [config, str(remote_root), str(local), str(state_file), 4])], cwd=Path(__file__).parents[2])
    assert killed.returncode == -signal.SIGKILL
    upload = PartUpload(**json.loads(state_file.read_text()))
    assert upload.resume == {"sent": 4 * 64 * 1024} and not upload.stored
    assert not (remote_root / "site.j01").exists()

    written = []
    real_write = paramiko.SFTPFile.write
    monkeypatch.setattr(paramiko.SFTPFile, "write",
                        lambda self, data: (written.append(len(data)), real_write(self, data))[1])
    storage = open_storage(config, str(remote_root))
    assert storage.upload(local, upload, deadline=FAR, saved=lambda: None)
    assert (remote_root / "site.j01").read_bytes() == local.read_bytes()
    checksum_line = len(f"{upload.sha256}  site.j01\n")
    assert sum(written) - checksum_line == local.stat().st_size - 4 * 64 * 1024
    assert sorted(p.name for p in remote_root.iterdir()) == ["site.j01", "site.j01.sha256"]
    storage.close()


def test_a_passed_deadline_sends_nothing_and_the_next_call_continues(sshd, tmp_path,
                                                                      remote_root):
    storage = open_storage(settings(sshd, tmp_path), str(remote_root))
    local = part(tmp_path)
    upload = new_upload(local)
    assert not storage.upload(local, upload, deadline=time.monotonic(), saved=lambda: None)
    assert upload.resume == {"sent": 0} and not (remote_root / "site.j01").exists()
    assert storage.upload(local, upload, deadline=FAR, saved=lambda: None)
    assert (remote_root / "site.j01").read_bytes() == local.read_bytes()
    storage.close()


@pytest.mark.proof("security", "an SFTP server whose host key is unknown, changed or not the pinned one")
def test_a_server_key_not_trusted_is_refused_before_logging_in(sshd, tmp_path, remote_root, proof):
    other_host_key = sshd.other_key("other_host_ed25519")
    cases = {
        "empty known_hosts": {"known_hosts": str(_write(tmp_path / "empty_known", ""))},
        "other server's key": {"known_hosts": str(_write(
            tmp_path / "changed_known",
            f"[{sshd.host}]:{sshd.port} {Path(f'{other_host_key}.pub').read_text().split()[0]} "
            f"{Path(f'{other_host_key}.pub').read_text().split()[1]}\n"))},
        "same key for another port": {"known_hosts": str(_write(
            tmp_path / "port_known",
            sshd.known_hosts(tmp_path / "k").read_text().replace(f"]:{sshd.port}", "]:2222")))},
        "wrong pinned fingerprint": {"known_hosts": None,
                                     "host_key_sha256": "SHA256:" + "A" * 43},
    }
    logins_before = sshd.log_text().count("Accepted publickey")
    for what, change in cases.items():
        storage = open_storage(settings(sshd, tmp_path, **change), str(remote_root))
        with pytest.raises(StorageError, match="refusing to connect") as refused:
            storage.check()
        assert sshd.fingerprint in str(refused.value), what
        proof.cases += 1
    assert sshd.log_text().count("Accepted publickey") == logins_before  # never got that far
    assert list(remote_root.iterdir()) == []
    pinned = open_storage(settings(sshd, tmp_path, known_hosts=None,
                                   host_key_sha256=sshd.fingerprint), str(remote_root))
    pinned.check()  # the right pin connects
    pinned.close()
    proof.note(f"{len(cases)} untrusted keys refused before authentication")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.proof("security", "an SFTP login with a key the server does not accept")
def test_a_wrong_client_key_is_refused(sshd, tmp_path, remote_root, proof):
    storage = open_storage(settings(sshd, tmp_path, key_file=str(sshd.other_key())),
                           str(remote_root))
    with pytest.raises(StorageError, match=r"refused the login of '\w+'"):
        storage.check()
    proof.cases += 1
    missing = open_storage(settings(sshd, tmp_path, key_file=str(tmp_path / "nokey")),
                           str(remote_root))
    with pytest.raises(StorageError, match="cannot read the SSH key .*nokey"):
        missing.check()
    proof.cases += 1


@pytest.mark.proof("security", "an uploaded SFTP part altered on the server, then fetched")
def test_a_part_altered_after_upload_is_detected_on_fetch(sshd, tmp_path, remote_root, proof):
    storage = open_storage(settings(sshd, tmp_path), str(remote_root))
    local = part(tmp_path)
    upload = new_upload(local)
    storage.upload(local, upload, deadline=FAR, saved=lambda: None)
    stored = remote_root / "site.j01"
    original = stored.read_bytes()
    dest = tmp_path / "fetched.j01"
    for what, altered in {"one byte flipped": bytes([original[0] ^ 1]) + original[1:],
                          "truncated": original[:-1],
                          "appended": original + b"x"}.items():
        stored.write_bytes(altered)
        with pytest.raises(StorageError, match="site.j01") as caught:
            storage.fetch(storage.stat("site.j01"), dest)
        assert not dest.exists() and not Path(f"{dest}.partial").exists(), what
        assert "altered" in str(caught.value) or "bytes" in str(caught.value)
        proof.cases += 1
    # the checksum beside the part rewritten too: a fetch checked against the SHA-256
    # the backup recorded at upload still refuses it
    stored.write_bytes(bytes([original[0] ^ 1]) + original[1:])
    (remote_root / "site.j01.sha256").write_text(
        f"{hashlib.sha256(stored.read_bytes()).hexdigest()}  site.j01\n")
    with pytest.raises(StorageError, match="altered or damaged after upload"):
        storage.fetch(RemoteObject("site.j01", upload.size, upload.sha256), dest)
    assert not dest.exists()
    proof.cases += 1
    storage.close()


def test_settings_never_hold_a_secret_and_say_what_is_wrong():
    base = {"type": "sftp", "host": "h", "user": "u", "key_file": "k"}
    for change, message in [({"password": "hunter2"}, "'storage.password': a secret never goes"),
                            ({"key_file": None}, "'storage.key_file': say how to log in"),
                            ({"port": 70000}, "'storage.port': 70000 is not a port number"),
                            ({"host_key_sha256": "abc"}, "'storage.host_key_sha256': write"),
                            ({"colour": 1}, "'storage.colour': unknown setting")]:
        data = {k: v for k, v in {**base, **change}.items() if v is not None}
        with pytest.raises(Exception, match=message.replace("(", r"\(")) as caught:
            validate_settings(data)
        assert "hunter2" not in str(caught.value)
