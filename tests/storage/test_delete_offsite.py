"""Deleting one backup (``sitepack backups delete``, Manage Backups' Delete) deletes its
off-site parts too, exactly those its record names, never another site's in the same
bucket or folder; when the storage cannot delete them the record and the local files stay
and the same command, run again, finishes the job (S3 via moto, SFTP via sshd)."""

from __future__ import annotations

import os
import random
import subprocess

import pytest

from packer import profiles, records
from tests.retention.conftest import make_backup, tiny_site  # noqa: F401 (fixtures)
from tests.storage.test_prune_offsite import FOREIGN, SharedSftp, shared  # noqa: F401 (fixture)
from tests.web.web_login import site_client


def _sitepack(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["sitepack", *args], capture_output=True, text=True, env=os.environ)


def _remote_names(shared, *parts: str) -> list[str]:
    """What the shared folder holds when it has ``parts`` of ours (SFTP keeps a SHA-256 sidecar)."""
    sidecars = {f"{p}.sha256" for p in parts} if isinstance(shared, SharedSftp) else set()
    return sorted({*FOREIGN, *parts, *sidecars})


def test_deleting_a_backup_deletes_its_remote_parts_and_nothing_else(shared, make_backup, tmp_path):
    profiles.save({"storage": shared.storage()}, name="offsite")
    doomed = make_backup("a", profile="offsite")
    kept = make_backup("b", profile="offsite")
    assert shared.names() == _remote_names(shared, "a.jpa", "b.jpa")

    deleted = _sitepack("backups", "delete", str(doomed.id))

    assert deleted.returncode == 0, deleted.stderr
    assert shared.names() == _remote_names(shared, "b.jpa")
    assert deleted.stdout == f"deleted backup #{doomed.id} (record, archive files and log; off-site: a.jpa)\n"
    assert [r.id for r in records.list_records()] == [kept.id]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.jpa"]


def test_web_delete_deletes_the_remote_parts_and_says_so(s3, make_backup, tmp_path):
    profiles.save({"storage": s3.storage(prefix="site")}, name="offsite")
    record = make_backup("a", profile="offsite")
    assert s3.keys() == ["site/a.jpa"]
    (tmp_path / "web").mkdir()
    client = site_client(tmp_path / "web")

    page = client.post(f"/manage/{record.id}/delete", data={"csrf_token": client.csrf}, follow_redirects=True)

    assert s3.keys() == [] and records.list_records() == []
    assert f"Backup #{record.id} was deleted (record, archive files and log; off-site: a.jpa)." in page.text


@pytest.mark.proof("reliability", "the network drops every S3 request deleting a backup's last part while "
                                  "`sitepack backups delete` deletes its off-site copy")
def test_a_remote_delete_cut_midway_keeps_the_record_and_the_same_command_finishes(s3, make_backup, tiny_site,
                                                                                 tmp_path, proof):
    (tiny_site / "images" / "big.bin").write_bytes(random.Random(3).randbytes(200 * 1024))
    profiles.save({"storage": s3.storage(prefix="site"), "part_size": 64 * 1024}, name="offsite")
    record = make_backup("a", profile="offsite")
    ours = sorted(f"site/{name}" for name in record.parts)
    assert len(ours) > 2 and s3.keys() == ours
    # The network drops every request deleting the last part (a.jpa): the first parts go.
    s3.proxy.cut(lambda method, path, query: method == "DELETE" and path.endswith("/a.jpa"), times=100)

    refused = _sitepack("backups", "delete", str(record.id))

    assert refused.returncode == 1 and refused.stdout == ""
    (error,) = refused.stderr.splitlines()
    assert error.startswith(f"error: backup #{record.id} was not deleted, its off-site copy could not be: "
                            f"deleting a.jpa from s3://{s3.name}/site/: cannot reach "), error
    assert error.endswith("already deleted). The record and local files are kept: run the delete again once "
                          f"the storage can be reached (if it is gone for good: sitepack backups delete "
                          f"{record.id} --keep-remote)"), error
    assert s3.keys() == ["site/a.jpa"]
    assert records.get(record.id).status == "ok" and all(p.exists() for p in record.part_paths())

    s3.proxy.cut(lambda *request: False)
    again = _sitepack("backups", "delete", str(record.id))

    assert again.returncode == 0, again.stderr
    assert s3.keys() == [] and records.list_records() == []
    assert not any(p.exists() for p in record.part_paths())
    proof.cases += 1
    proof.note(f"{len(ours) - 1} of {len(ours)} parts deleted, then the cut: said in one line, record and "
               f"local parts kept; the same command again deleted the rest")


@pytest.mark.proof("reliability", "the SFTP server holding a backup's off-site copy cannot be reached when "
                                  "the backup is deleted")
def test_an_unreachable_sftp_server_keeps_the_record_and_deletes_nothing(sshd, make_backup, tmp_path, proof):
    shared = SharedSftp(sshd, tmp_path)
    profiles.save({"storage": shared.storage()}, name="offsite")
    record = make_backup("a", profile="offsite")
    offsite = record.offsite
    records.update(record.id, offsite={**offsite, "storage": {**offsite["storage"], "port": 9}})  # nobody listens

    refused = _sitepack("backups", "delete", str(record.id))

    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == (f"error: backup #{record.id} was not deleted, its off-site copy could not be: "
                              f"cannot reach the SFTP server "
                              f"{sshd.host}:9 (Connection refused); check storage.host and storage.port. "
                              f"The record and local files are kept: run the delete again once the storage "
                              f"can be reached (if it is gone for good: sitepack backups delete {record.id} "
                              f"--keep-remote)\n")
    assert shared.names() == _remote_names(shared, "a.jpa")
    assert records.get(record.id).status == "ok" and (tmp_path / "out" / "a.jpa").exists()

    records.update(record.id, offsite=offsite)  # the server is back
    again = _sitepack("backups", "delete", str(record.id))

    assert again.returncode == 0, again.stderr
    assert shared.names() == _remote_names(shared) and records.list_records() == []
    proof.cases += 1
    proof.note("refused in one line, nothing deleted anywhere; once reachable, the same command deleted it")


def test_keep_remote_deletes_the_record_of_a_backup_whose_storage_is_gone(sshd, make_backup, tmp_path):
    shared = SharedSftp(sshd, tmp_path)
    profiles.save({"storage": shared.storage()}, name="offsite")
    record = make_backup("a", profile="offsite")
    offsite = record.offsite
    records.update(record.id, offsite={**offsite, "storage": {**offsite["storage"], "port": 9}})  # gone for good

    deleted = _sitepack("backups", "delete", str(record.id), "--keep-remote")

    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout == (f"deleted backup #{record.id} (record, archive files and log)\n"
                              f"its off-site copy on {offsite['location']} was left as it is\n")
    assert records.list_records() == [] and not (tmp_path / "out" / "a.jpa").exists()
    assert shared.names() == _remote_names(shared, "a.jpa")
