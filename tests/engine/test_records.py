import os

import pytest

from packer import records
from packer.logs import log_path_for
from restorer.errors import SitepackError


def _finished(tmp_path, name="b1"):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    parts = [f"{name}.j01", f"{name}.jpa"]
    for part in parts:
        (out / part).write_bytes(b"x" * 10)
    rec = records.create(type="full", format="jpa", description="d", comment="c",
                         output_dir=str(out), archive_name=f"{name}.jpa")
    log = log_path_for(rec.id)
    log.write_text("log")
    return records.update(rec.id, status="ok", parts=parts, size=20, log_path=str(log)), out


def test_create_update_list_and_fields(tmp_path, sitepack_home):
    rec, _ = _finished(tmp_path)
    assert (rec.status, rec.origin, rec.frozen, rec.parts, rec.size) == ("ok", "cli", False,
                                                                         ["b1.j01", "b1.jpa"], 20)
    assert records.list_records()[0].id == rec.id
    assert oct(os.stat(sitepack_home / "records.sqlite").st_mode & 0o777) == "0o600"
    with pytest.raises(SitepackError, match=r"there is no backup record #999"):
        records.get(999)


def test_delete_files_keeps_record_as_obsolete(tmp_path):
    rec, out = _finished(tmp_path)
    records.delete_files(rec.id)
    assert sorted(p.name for p in out.iterdir()) == []
    assert records.get(rec.id).status == "obsolete"
    assert os.path.exists(rec.log_path)


def test_delete_files_of_a_failed_backup_removes_its_log(tmp_path):
    rec, out = _finished(tmp_path)
    records.update(rec.id, status="failed", parts=[])
    records.delete_files(rec.id)
    assert not os.path.exists(rec.log_path)
    assert records.get(rec.id).status == "failed"


def test_delete_removes_parts_log_and_record(tmp_path):
    rec, out = _finished(tmp_path)
    records.delete(rec.id)
    assert list(out.iterdir()) == []
    assert not os.path.exists(rec.log_path)
    assert records.list_records() == []


def test_frozen_records_cannot_be_deleted(tmp_path):
    rec, out = _finished(tmp_path)
    records.freeze(rec.id)
    with pytest.raises(SitepackError, match=rf"backup #{rec.id} is frozen and cannot be deleted; "
                                            rf"unfreeze it first"):
        records.delete(rec.id)
    with pytest.raises(SitepackError, match="frozen and cannot be emptied"):
        records.delete_files(rec.id)
    assert len(list(out.iterdir())) == 2
    records.unfreeze(rec.id)
    records.delete(rec.id)


def test_paths_outside_the_output_dir_are_never_deleted(tmp_path):
    rec, out = _finished(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    records.update(rec.id, parts=["../victim.txt"])
    with pytest.raises(SitepackError, match="not a plain file name; refusing to touch it"):
        records.delete(rec.id)
    assert victim.read_text() == "keep me"
