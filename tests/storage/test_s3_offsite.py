"""Backups sent part by part to a real S3 server (moto on loopback) and got back again."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


from packer import profiles, records
from tests.restore.bundles import backup, demo_site  # noqa: F401 (fixture)
from tests.storage.conftest import restore_on_new_host

PART_SUFFIXES = (".jpa", ".jps", ".zip")


def _run(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["sitepack", *map(str, args)], capture_output=True, text=True,
                          env=env or dict(os.environ))


def _local_parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix[:2] in (".j", ".z"))


def _only_record() -> records.Record:
    [record] = records.list_records()
    return record


def test_split_backup_goes_off_site_part_by_part_and_restores_on_a_new_host(
        s3, demo_site, tmp_path, db_factory, monkeypatch):
    profiles.save({"part_size": 256 * 1024, "storage": s3.storage(
        prefix="sites/[HOST]/[DATE]", delete_local=True)}, name="offsite")
    out = tmp_path / "backups"
    result = _run("backup", demo_site.root, "--type", "full", "--format", "jpa", "--profile",
                  "offsite", "--output-dir", out, "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    record = _only_record()
    assert record.status == "remote"
    assert f"off-site: s3://{s3.name}/sites/" in result.stdout
    assert len(record.parts) > 5
    assert _local_parts(out) == []      # every part deleted once stored
    stored = {k.rsplit("/", 1)[1]: k for k in s3.keys()}
    assert sorted(stored) == sorted(record.parts)
    assert all(k.startswith("sites/") for k in stored.values())
    assert s3.open_uploads() == []
    object_puts = [a.path for a in s3.proxy.answered if a.method == "PUT" and not a.upload_piece]
    assert sorted(object_puts) == sorted(set(object_puts))  # each part sent once
    show = _run("backups", "show", record.id)
    assert f"off-site:       s3://{s3.name}/sites/" in show.stdout
    assert "(remote)" in show.stdout and "(local" not in show.stdout

    # The machine that made it fetches it back: resumable, verified, status ok again.
    fetched = _run("backups", "fetch", record.id)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert _local_parts(out) == sorted(record.parts)
    assert records.get(record.id).status == "ok"

    # A new host (no records, its own data folder) extracts straight from the bucket.
    monkeypatch.setenv("SITEPACK_HOME", str(tmp_path / "new-host-home"))
    key = stored[record.parts[2]]      # any part names the archive
    restored = tmp_path / "new-host" / "site"
    extract = _run("extract", f"s3://{s3.name}/{key}", restored, "--endpoint-url", s3.proxy.url,
                   "--path-style")
    assert extract.returncode == 0, extract.stdout + extract.stderr
    assert "every file matched the archive's manifest" in extract.stdout
    restore_on_new_host(demo_site, restored, db_factory(), tmp_path / "answers.json")
