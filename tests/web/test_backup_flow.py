"""Backup Now through the Flask test client on a small files-only site: start, step JSON,
completion page, and the error page of a backup that failed on the server."""

from __future__ import annotations

import os
import re
import socket

from packer import profiles, records
from packer.engine import BackupJob


def _small_site(root):
    (root / "index.html").write_text("<h1>hello</h1>\n")
    (root / "media").mkdir()
    (root / "media" / "logo.svg").write_text("<svg/>\n")
    profiles.save({"backup_type": "files", "min_exec": 0, "max_exec": 5}, name="files")


def _start(client, **form) -> int:
    response = client.post("/backup/new", data={"csrf_token": client.csrf, "profile": "files",
                                                 "description": "Test [DATE]", **form})
    assert response.status_code == 302, response.text
    match = re.fullmatch(r"/backup/(\d+)", response.headers["Location"])
    return int(match.group(1))


def test_backup_runs_step_by_step_to_the_completion_page(client, site_root):
    _small_site(site_root)
    backup_id = _start(client, comment="first [DATE]")
    record = records.get(backup_id)
    assert record.origin == "web" and re.fullmatch(r"Test \d{8}", record.description)
    assert re.fullmatch(r"first \d{8}", record.comment)
    page = client.get(f"/backup/{backup_id}").text
    assert 'id="page-data"' in page and "Initialising" in page
    answers = []
    for _ in range(20):
        answer = client.post(f"/backup/{backup_id}/step", json={"known_warnings": 0},
                             headers={"X-CSRF-Token": client.csrf}).json
        answers.append(answer)
        if answer["finished"]:
            break
    last = answers[-1]
    assert last["finished"] and not last["failed"] and last["progress"] == 100.0
    assert [d["status"] for d in last["domains"]] == ["done"] * len(last["domains"])
    assert last["warnings_since"] == []  # the default-folder reminder is a note, not a warning
    assert record.archive_name.startswith(f"site-{socket.gethostname().lower()}-")
    done = client.get(f"/backup/{backup_id}")
    assert done.status_code == 302 and done.headers["Location"] == f"/backup/{backup_id}/done"
    page = client.get(f"/backup/{backup_id}/done").text
    assert records.get(backup_id).archive_name in page
    assert "Manage Backups" in page


def test_step_endpoint_sends_only_the_warnings_the_page_lacks(client, site_root):
    _small_site(site_root)
    os.symlink(b"\xff", bytes(site_root / "media" / "bad-link"))  # warned about: not UTF-8
    backup_id = _start(client)
    for _ in range(10):   # a step ends at each new domain: the scan that warns comes later
        client.post(f"/backup/{backup_id}/step", json={"known_warnings": 0},
                    headers={"X-CSRF-Token": client.csrf})
        if BackupJob.load(backup_id).warnings():
            break
    answer = client.post(f"/backup/{backup_id}/step", json={"known_warnings": 1},
                         headers={"X-CSRF-Token": client.csrf}).json
    total = len(BackupJob.load(backup_id).warnings())
    assert total >= 1 and len(answer["warnings_since"]) == total - 1


def test_failed_backup_shows_its_error_and_log(client, site_root):
    _small_site(site_root)
    backup_id = _start(client)
    BackupJob.load(backup_id).abandon()
    response = client.get(f"/backup/{backup_id}")
    assert response.headers["Location"] == f"/backup/{backup_id}/failed"
    page = client.get(f"/backup/{backup_id}/failed").text
    assert "the backup was cancelled" in page
    assert re.search(r"ERROR +\| backup failed: the backup was cancelled", page)


def test_step_for_an_unknown_backup_is_a_json_404(client):
    response = client.post("/backup/999/step", json={}, headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 404
    assert "there is no backup record #999" in response.json["error"]
