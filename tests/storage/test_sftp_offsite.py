"""Backups sent part by part to a real SFTP server (Debian's sshd on loopback), killed and
resumed mid-upload, fetched back, extracted from sftp:// on a new host and restored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from packer import profiles, records
from tests.restore.bundles import demo_site  # noqa: F401 (fixture)
from tests.storage.conftest import restore_on_new_host, sftp_settings

REPO = Path(__file__).parents[2]


def _run(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["sitepack", *map(str, args)], capture_output=True, text=True,
                          env=env or dict(os.environ))


# Starts a backup and SIGKILLs itself when the storage has saved its progress for the
# Nth time: a kill in the middle of a part's upload, at a known point.
_KILLED_BACKUP = """
import os, signal, sys
from pathlib import Path
from packer.engine import BackupJob, run_to_completion
from packer.storage import sftp
site, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
upload = sftp.SftpStorage.upload
saves = 0
def counting(self, local, part, *, deadline, saved):
    def save():
        global saves
        saved()
        saves += 1
        if saves == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    return upload(self, local, part, deadline=deadline, saved=save)
sftp.SftpStorage.upload = counting
job = BackupJob.start(Path(site), profile="offsite", backup_type="full", fmt="jpa",
                      output_dir=Path(out))
print(job.id, flush=True)
run_to_completion(job)
"""


def test_sftp_backup_killed_mid_upload_resumes_then_fetches_and_restores_elsewhere(
        sshd, demo_site, tmp_path, db_factory, monkeypatch):
    remote = tmp_path / "remote" / "shop"
    profiles.save({"part_size": 256 * 1024, "min_exec": 0, "max_exec": 0.5,
                   "storage": sftp_settings(sshd, tmp_path, remote)}, name="offsite")
    out = tmp_path / "backups"
    killed = subprocess.run([sys.executable, "-c", _KILLED_BACKUP, demo_site.root, out, "3"],
                            capture_output=True, text=True, cwd=REPO)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [record] = records.list_records()
    assert record.status == "pending"
    assert list(remote.glob("*.partial")) or list(remote.glob("*.sha256"))  # upload under way

    resumed = _run("backup", "--resume", record.id, "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    record = records.get(record.id)
    assert record.status == "ok" and len(record.parts) > 3
    on_server = sorted(p.name for p in remote.iterdir())
    assert on_server == sorted([*record.parts, *(f"{n}.sha256" for n in record.parts)])
    for name in record.parts:  # every part on the server is the local part, byte for byte
        assert (remote / name).read_bytes() == (out / name).read_bytes(), name
        assert record.offsite["parts"][name]["stored"]
    assert record.offsite["location"] == f"sftp://{sshd.user}@{sshd.host}:{sshd.port}/{remote}/"

    # The machine that made it fetches it back into another folder, every part verified.
    again = tmp_path / "fetched"
    fetched = _run("backups", "fetch", record.id, again)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert sorted(p.name for p in again.iterdir()) == sorted(record.parts)

    # A new host (its own data folder, no records) extracts straight from the server.
    monkeypatch.setenv("SITEPACK_HOME", str(tmp_path / "new-host-home"))
    restored = tmp_path / "new-host" / "site"
    url = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}/{remote}/{record.parts[1]}"
    extract = _run("extract", url, restored, "--key-file", sshd.client_key,
                   "--known-hosts", sshd.known_hosts(tmp_path / "new_known_hosts"))
    assert extract.returncode == 0, extract.stdout + extract.stderr
    assert "every file matched the archive's manifest" in extract.stdout
    restore_on_new_host(demo_site, restored, db_factory(), tmp_path / "answers.json")


def test_extract_from_an_untrusted_sftp_server_is_refused(sshd, tmp_path):
    (tmp_path / "empty_known_hosts").write_text("")
    url = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}/{tmp_path}/site.jpa"
    refused = _run("extract", url, tmp_path / "out", "--key-file", sshd.client_key,
                   "--known-hosts", tmp_path / "empty_known_hosts")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"error: the host key of the SFTP server {sshd.host}:"
                                     f"{sshd.port} (ssh-ed25519 {sshd.fingerprint}) is not in")
    assert not (tmp_path / "out").exists()
