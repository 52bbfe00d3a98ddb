"""Off-site uploads under faults: a kill mid-piece, dropped connections, wrong credentials,
a missing bucket, a part altered on the server. Each against moto on loopback through the
counting proxy (``harness/s3server.py``)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
from pathlib import Path

import pytest
from tests.engine.engine_helpers import tree

from packer import profiles, records
from packer.storage import StorageError

MIB = 1024 * 1024
PIECE = 5 * MIB


def _run(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["sitepack", *map(str, args)], capture_output=True, text=True,
                          env=env or dict(os.environ))


def _site(root: Path, sizes: list[int], seed: int = 24) -> Path:
    """Files of random (incompressible) bytes: parts and pieces of known sizes."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    for number, size in enumerate(sizes):
        (root / f"data-{number}.bin").write_bytes(rng.randbytes(size))
    return root


def _local_parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix[:2] in (".j", ".z"))


def _only_record() -> records.Record:
    [record] = records.list_records()
    return record


def _backup(site: Path, out: Path, *extra, env=None) -> subprocess.CompletedProcess:
    return _run("backup", site, "--type", "files", "--profile", "offsite", "--output-dir", out,
                "--quiet", *extra, env=env)


def _fetch_and_compare(record: records.Record, site: Path, tmp_path: Path) -> None:
    fetched = _run("backups", "fetch", record.id, tmp_path / "fetched")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    last = tmp_path / "fetched" / record.parts[-1]
    extracted = _run("extract", last, tmp_path / "extracted")
    assert extracted.returncode == 0, extracted.stdout + extracted.stderr
    assert tree(tmp_path / "extracted", skip=("installation",)) == tree(site)


def test_local_disk_holds_only_a_few_parts_while_they_go_off_site(s3, tmp_path):
    """Files larger than a part are written synchronously, so the count is exact: part 1
    (JPA rewrites it at close), the part being sent, the one the file ran over from and the
    one being written."""
    site = _site(tmp_path / "site", [int(1.5 * MIB)] * 10)
    profiles.save({"format": "jpa", "part_size": MIB,
                   "storage": s3.storage(delete_local=True)}, name="offsite")
    out = tmp_path / "out"
    seen = []
    s3.proxy.on_request = lambda: seen.append(len(_local_parts(out)) if out.exists() else 0)
    result = _backup(site, out)
    assert result.returncode == 0, result.stdout + result.stderr
    record = _only_record()
    assert len(record.parts) >= 15 and record.status == "remote"
    assert max(seen) <= 4, seen
    assert _local_parts(out) == []


def _kill_when_held(command: list[str], held) -> None:
    """Runs ``command`` until the proxy holds one of its requests (``held`` is set), then
    SIGKILLs it."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert held.wait(120), "the upload never reached the piece to kill it on"
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()


@pytest.mark.proof("reliability", "a backup is SIGKILLed while it sends a part, twice, and resumed")
def test_kill_mid_piece_resumes_without_sending_a_stored_piece_twice(s3, tmp_path, proof):
    site = _site(tmp_path / "site", [7 * MIB, 7 * MIB, 7 * MIB])
    profiles.save({"format": "zip", "part_size": 11 * MIB, "storage": s3.storage(
        piece_size=PIECE, delete_local=True)}, name="offsite")
    out = tmp_path / "out"
    new = ["sitepack", "backup", str(site), "--type", "files", "--profile", "offsite",
           "--output-dir", str(out), "--quiet"]
    # Piece 2 of the first part (while the archive is written), then piece 2 of the last
    # part (sent after close): each time other pieces of the part are stored.
    resume = ["sitepack", "backup", "--resume", "1", "--quiet"]
    for command, killed_on in ((new, ".z01"), (resume, ".zip")):
        s3.proxy.hold(lambda method, path, query, suffix=killed_on:
                      query.get("partNumber") == "2" and path.endswith(suffix))
        try:
            _kill_when_held(command, s3.proxy.held)
        finally:
            s3.proxy.release()
        proof.cases += 1
        assert len(s3.open_uploads()) == 1      # the half-sent part's upload, id in the state
    before = len(s3.proxy.pieces_sent())
    resumed = _run("backup", "--resume", _only_record().id, "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    sent = s3.proxy.pieces_sent()
    assert before >= 1 and len(sent) == len(set(sent)), sent   # no piece sent twice
    puts = [a.path for a in s3.proxy.answered
            if a.method == "PUT" and not a.upload_piece and a.status == 200]
    assert len(puts) == len(set(puts))                          # no whole part twice
    assert s3.open_uploads() == []
    record = _only_record()
    assert record.status == "remote" and _local_parts(out) == []
    sizes = [part["size"] for part in record.offsite["parts"].values()]
    assert len(sent) == sum(-(-size // PIECE) for size in sizes)   # every piece, once
    _fetch_and_compare(record, site, tmp_path)
    proof.note(f"{len(sent)} pieces and {len(puts)} whole parts, each sent once; no open upload")


@pytest.mark.proof("reliability", "a backup killed mid-upload is given up: nothing stays remotely")
def test_a_given_up_backup_leaves_no_open_upload_and_no_part(s3, tmp_path, proof):
    site = _site(tmp_path / "site", [7 * MIB, 7 * MIB, 7 * MIB])
    profiles.save({"format": "zip", "part_size": 6 * MIB,
                   "storage": s3.storage(piece_size=PIECE)}, name="offsite")
    s3.proxy.hold(lambda method, path, query: query.get("partNumber") == "2" and bool(s3.keys()))
    child = subprocess.Popen(["sitepack", "backup", str(site), "--type", "files", "--profile",
                              "offsite", "--output-dir", str(tmp_path / "out"), "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert s3.proxy.held.wait(120)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        s3.proxy.release()
    proof.cases += 1
    assert s3.keys() and s3.open_uploads()          # one part stored, one half sent
    deleted = _run("backups", "delete", _only_record().id)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert s3.keys() == [] and s3.open_uploads() == []
    proof.note("stored part deleted and open multipart upload aborted")


@pytest.mark.proof("reliability", "the connection drops mid-upload, once and then for good")
def test_dropped_connections_retry_then_leave_the_backup_upload_pending(s3, tmp_path, proof):
    site = _site(tmp_path / "site", [3 * MIB, 3 * MIB])
    profiles.save({"format": "jpa", "part_size": 2 * MIB,
                   "storage": s3.storage(delete_local=True)}, name="offsite")
    uploads = lambda method, path, query: method == "PUT"  # noqa: E731
    s3.proxy.cut(uploads, times=1)                          # one drop: boto3 sends it again
    result = _backup(site, tmp_path / "once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _only_record().status == "remote"
    proof.cases += 1
    records.delete(_only_record().id)

    s3.proxy.cut(uploads, times=10 ** 6)                    # the network is gone
    out = tmp_path / "for-good"
    result = _backup(site, out)
    proof.cases += 1
    assert result.returncode == 2, result.stdout + result.stderr   # complete, with a warning
    record = _only_record()
    assert record.status == "upload-pending"
    assert _local_parts(out) == sorted(record.parts)        # every local part kept
    [warning] = record.warning_messages
    assert "\n" not in warning and "cannot reach" in warning
    assert f"sitepack backups upload {record.id}" in warning
    assert s3.open_uploads() == []
    again = _run("backups", "upload", record.id)
    assert again.returncode == 1 and again.stderr.count("\n") == 1, again.stderr

    s3.proxy.cut(uploads, times=0)                          # back online
    again = _run("backups", "upload", record.id)
    assert again.returncode == 0, again.stdout + again.stderr
    record = records.get(record.id)
    assert record.status == "remote" and _local_parts(out) == []
    assert s3.open_uploads() == []
    _fetch_and_compare(record, site, tmp_path)
    proof.note("one drop retried; a lasting one: upload pending, parts kept, finished later")


@pytest.mark.proof("security", "a backup to S3 with wrong, missing or unnamed credentials, or no bucket")
def test_unusable_storage_is_refused_before_the_backup_starts(s3, tmp_path, proof):
    site = _site(tmp_path / "site", [1000])
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    cases = {
        "wrong secret": ({}, {"AWS_SECRET_ACCESS_KEY": "wrong" + secret[5:]}, "refused|denied"),
        "unknown key": ({}, {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"}, "refused|denied"),
        "no bucket": ({"bucket": "no-such-bucket"}, {}, "does not exist"),
        "unset variable": ({"access_key_id_env": "SITE_S3_KEY",
                            "secret_access_key_env": "SITE_S3_SECRET"}, {}, "SITE_S3_KEY"),
    }
    import re
    for name, (settings, env, expected) in cases.items():
        profiles.save({"storage": s3.storage(**settings)}, name="offsite")
        result = _backup(site, tmp_path / "out", env={**os.environ, **env})
        proof.cases += 1
        assert result.returncode == 1, name
        assert result.stderr.count("\n") == 1 and re.search(expected, result.stderr), (name, result.stderr)
        assert secret not in result.stdout + result.stderr
        assert records.list_records() == [], name             # no record, nothing written
        assert not (tmp_path / "out").exists() or _local_parts(tmp_path / "out") == []
    proof.note(f"{len(cases)} of {len(cases)} refused in one line, no record, no secret shown")


def test_a_secret_in_the_profile_is_refused(s3):
    with pytest.raises(Exception, match="never goes into a profile"):
        profiles.save({"storage": s3.storage(secret_access_key="x")}, name="offsite")


@pytest.mark.proof("security", "a part is altered on the server after its upload")
def test_fetch_detects_a_part_altered_on_the_server(s3, tmp_path, proof):
    site = _site(tmp_path / "site", [3 * MIB])
    profiles.save({"format": "zip", "part_size": MIB, "storage": s3.storage()}, name="offsite")
    result = _backup(site, tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    record = _only_record()
    assert record.status == "ok"                           # both copies
    emptied = _run("backups", "delete-files", record.id)
    assert emptied.returncode == 0 and records.get(record.id).status == "remote"
    key = next(k for k in s3.keys() if k.endswith(record.parts[1]))
    original = s3.client.get_object(Bucket=s3.name, Key=key)
    data = bytearray(original["Body"].read())
    data[1000] ^= 1
    # The attacker also fixes up the metadata: only the record's own SHA-256 can tell.
    s3.client.put_object(Bucket=s3.name, Key=key, Body=bytes(data), Metadata=original["Metadata"])
    dest = tmp_path / "fetched"
    fetched = _run("backups", "fetch", record.id, dest)
    proof.cases += 1
    assert fetched.returncode == 1
    assert fetched.stderr.count("\n") == 1 and "altered" in fetched.stderr, fetched.stderr
    assert not (dest / record.parts[1]).exists()
    assert not list(dest.glob("*.partial"))
    proof.note("one flipped bit found by the SHA-256 in the record")


@pytest.mark.proof("reliability", "the download behind `extract s3://…` of a 3-part archive among 200 other objects "
                                  "is cut off before its last part, then run again")
def test_an_interrupted_s3_download_continues_with_one_listing_and_requests_only_for_missing_parts(
        s3, tmp_path, proof):
    from packer.storage.offsite import fetch_url
    rng = random.Random(5)
    for number in range(200):  # another site's backups in the same folder
        s3.client.put_object(Bucket=s3.name, Key=f"shared/other-{number:03}.jpa", Body=b"not ours")
    parts = {name: rng.randbytes(4096) for name in ("site.j01", "site.j02", "site.jpa")}
    for name, data in parts.items():
        s3.client.put_object(Bucket=s3.name, Key=f"shared/{name}", Body=data,
                             Metadata={"sha256": hashlib.sha256(data).hexdigest()})
    url = f"s3://{s3.name}/shared/site.j02"
    s3.proxy.cut(lambda method, path, query: method == "GET" and path.endswith("/site.jpa"), times=100)
    with pytest.raises(StorageError, match="site.jpa"):
        fetch_url(url, endpoint_url=s3.proxy.url, path_style=True)

    s3.proxy.cut(lambda *request: False)
    s3.proxy.answered.clear()
    last = fetch_url(url, endpoint_url=s3.proxy.url, path_style=True)

    # The listing (GET on the bucket), then the missing part only: its SHA-256 (HEAD), its bytes.
    requests = sorted((a.method, a.path.rsplit("/", 1)[-1]) for a in s3.proxy.answered)
    assert requests == sorted([("GET", s3.name), ("HEAD", "site.jpa"), ("GET", "site.jpa")])
    assert {p.name: p.read_bytes() for p in last.parent.iterdir()} == parts
    proof.cases += 1
    proof.note("run again: 1 listing + 1 HEAD + 1 GET for the one missing part (was a HEAD per part "
               "already fetched)")
