"""Real backups of a tiny site for the retention and check tests, dated as a test needs."""

from __future__ import annotations

import pytest

from packer import records
from packer.engine import BackupJob, run_to_completion


@pytest.fixture
def tiny_site(tmp_path):
    site = tmp_path / "site"
    (site / "images").mkdir(parents=True)
    (site / "images" / "a.jpg").write_bytes(b"\xff\xd8" * 500)
    return site


@pytest.fixture
def make_backup(tiny_site, tmp_path):
    """``make_backup(name, profile=…, started="YYYY-mm-dd HH:MM:SS")``: a good files
    backup into ``tmp_path/out``, its record dated ``started`` (default: now)."""

    def make(name: str, *, profile: str = "default", started: str | None = None) -> records.Record:
        job = BackupJob.start(tiny_site, profile=profile, backup_type="files",
                              output_dir=tmp_path / "out", name_template=name)
        report = run_to_completion(job)
        assert not report.failed, report.error
        if started:
            records.update(job.id, started=started, finished=started)
        return records.get(job.id)

    return make
