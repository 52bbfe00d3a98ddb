"""Retention with off-site copies: a pruned backup's remote parts go with its record, and
nothing else in the shared bucket or folder is touched (S3 via moto, SFTP via sshd)."""

from __future__ import annotations

import pytest

from packer import profiles, records
from tests.retention.conftest import make_backup, tiny_site  # noqa: F401 (fixtures)
from tests.storage.conftest import sftp_settings

FOREIGN = ("other-site.jpa", "other-site.j01", "a.jpa.old")  # another site's, same folder


class SharedS3:
    def __init__(self, s3):
        self.s3 = s3
        for name in FOREIGN:
            s3.client.put_object(Bucket=s3.name, Key=f"shared/{name}", Body=b"not ours")

    def storage(self) -> dict:
        return self.s3.storage(prefix="shared")

    def names(self) -> list[str]:
        return sorted(key.removeprefix("shared/") for key in self.s3.keys())


class SharedSftp:
    def __init__(self, sshd, tmp_path):
        self.sshd, self.tmp_path = sshd, tmp_path
        self.folder = tmp_path / "remote" / "shared"
        self.folder.mkdir(parents=True)
        for name in FOREIGN:
            (self.folder / name).write_bytes(b"not ours")

    def storage(self) -> dict:
        return sftp_settings(self.sshd, self.tmp_path, self.folder)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir())


@pytest.fixture(params=["s3", "sftp"])
def shared(request, tmp_path):
    if request.param == "s3":
        return SharedS3(request.getfixturevalue("s3"))
    return SharedSftp(request.getfixturevalue("sshd"), tmp_path)


def test_pruned_backups_lose_their_remote_parts_and_nothing_else(shared, make_backup, tmp_path):
    profiles.save({"storage": shared.storage(), "retention": {"keep_last": 1}}, name="nightly")
    first = make_backup("a", profile="nightly")
    records.freeze(first.id)
    second = make_backup("b", profile="nightly")
    assert "b.jpa" in shared.names()
    third = make_backup("c", profile="nightly")

    # keep_last 1 keeps c; a is frozen; b goes, locally and remotely
    assert sorted(r.id for r in records.list_records()) == [first.id, third.id]
    ours = {"a.jpa", "c.jpa"}
    sidecars = {f"{n}.sha256" for n in ours} if isinstance(shared, SharedSftp) else set()
    assert shared.names() == sorted({*FOREIGN, *ours, *sidecars})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpa", "c.jpa"]
    assert f"retention: deleted backup #{second.id}" in open(third.log_path).read()

    # Unfrozen, the next backup's retention takes a remotely too; the other site's stay.
    records.unfreeze(first.id)
    fourth = make_backup("d", profile="nightly")
    assert sorted(r.id for r in records.list_records()) == [fourth.id]
    ours = {"d.jpa"}
    sidecars = {"d.jpa.sha256"} if isinstance(shared, SharedSftp) else set()
    assert shared.names() == sorted({*FOREIGN, *ours, *sidecars})
