"""A browser-driven backup (the web UI's one step per request) sends its parts off-site too."""

from __future__ import annotations

import os
import random
import re

import pytest

from packer import profiles, records
from tests.web.web_login import site_client


@pytest.fixture
def client(tmp_path):
    return site_client(tmp_path)


def test_saving_a_profile_page_keeps_its_storage_settings(client, s3):
    settings = profiles.save({"storage": s3.storage(prefix="p/[HOST]")}, name="offsite").storage
    page = client.post("/profiles/save", data={
        "csrf_token": client.csrf, "original": "offsite", "name": "offsite", "format": "zip",
        "name_template": "site-[DATE]", "log_level": "info", "backup_type": "full",
        "min_exec": "1", "max_exec": "10", "retry_wait": "10", "retry_count": "3"})
    assert page.status_code == 302, page.text
    saved = profiles.load("offsite")
    assert saved.format == "zip" and saved.storage == settings


def test_web_backup_sends_its_parts_off_site_step_by_step(client, tmp_path, s3):
    site_root = tmp_path / "site"
    rng = random.Random(7)
    for number in range(6):
        (site_root / f"photo-{number}.jpg").write_bytes(rng.randbytes(150 * 1024))
    profiles.save({"backup_type": "files", "format": "jpa", "part_size": 128 * 1024,
                   "min_exec": 0, "max_exec": 0.2,
                   "storage": s3.storage(delete_local=True)}, name="files")
    started = client.post("/backup/new", data={"csrf_token": client.csrf, "profile": "files",
                                                "description": "off-site"})
    assert started.status_code == 302, started.text
    backup_id = int(re.fullmatch(r"/backup/(\d+)", started.headers["Location"]).group(1))
    answers = []
    for _ in range(200):
        response = client.post(f"/backup/{backup_id}/step", json={"known_warnings": 0},
                               headers={"X-CSRF-Token": client.csrf})
        answers.append(response.text)
        if response.json["finished"]:
            break
    last = response.json
    assert last["finished"] and not last["failed"], last["error"]
    assert "Sending to off-site storage" in [d["title"] for d in last["domains"]]
    record = records.get(backup_id)
    assert record.status == "remote" and len(record.parts) > 5
    assert sorted(k.rsplit("/", 1)[-1] for k in s3.keys()) == sorted(record.parts)
    puts = [a.path for a in s3.proxy.answered if a.method == "PUT" and a.status == 200]
    assert len(puts) == len(set(puts)) == len(record.parts)
    page = client.get(f"/backup/{backup_id}/done").text
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    assert all(secret not in text for text in [*answers, page])
