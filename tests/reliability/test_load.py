"""Load and concurrency (E4, issue 23 part 5): the backup UI stays responsive while a
large backup runs in it; two backups of one profile, and two restores into one folder,
started together: the second is refused with a clear message and the first completes."""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

import pytest

from packer import profiles, records
from tests.engine.engine_helpers import sitepack_verify
from tests.reliability.conftest import ARCHIVE_KEY, SLICES, backup_command, extract_command, with_key
from tests.restore.bundles import bundle_copy, compare_with_origin
from tests.restore.live_wizard import Browser, PrintingServer

LOGIN = "load test login"


def _large_site(demo_site, root: Path, megabytes: int) -> Path:
    """The demo site (same database, only read) plus ``megabytes`` of incompressible files
    in many folders: a backup of it runs long enough to be measured beside."""
    shutil.copytree(demo_site.root, root, symlinks=True)
    rng = random.Random(23)
    for index in range(megabytes * 8):
        folder = root / "images" / "bulk" / f"{index // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"photo-{index}.jpg").write_bytes(rng.randbytes(128 * 1024))
    return root


def _log_in(server) -> tuple[Browser, str]:
    browser = Browser(server.host, server.port)
    token = browser.csrf("/login")
    status, headers, _ = browser.request("POST", "/login", form={"csrf_token": token, "password": LOGIN})
    assert status == 302, status
    status, _, page = browser.request("GET", "/manage/")
    assert status == 200
    return browser, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.slow
@pytest.mark.proof("reliability", "the backup UI's pages are requested over and over while a large "
                                  "backup runs in it (step requests from a browser-like client)")
def test_backup_ui_answers_within_half_a_second_while_a_large_backup_runs(demo_site, tmp_path, proof):
    site = _large_site(demo_site, tmp_path / "site", megabytes=64)
    profiles.save({"format": "jpa", "part_size": 8 << 20, "output_dir": str(tmp_path / "out")}, name="big")
    server = PrintingServer(["sitepack", "serve", "--site", str(site), "--port", "0", "--password-env",
                             "UI_LOGIN"], r"(http://127\.0\.0\.1:\d+/)", env={**os.environ, "UI_LOGIN": LOGIN})
    try:
        stepper, token = _log_in(server)
        status, headers, _ = stepper.request("POST", "/backup/new", form={
            "csrf_token": token, "profile": "big", "description": "load [DATE]"})
        assert status == 302, status
        backup_id = int(headers["location"].rsplit("/", 1)[1])
        answers = []

        def step_until_done():  # what the progress page does, one step request after another
            while True:
                status, _, text = stepper.request("POST", f"/backup/{backup_id}/step",
                                                  json_body='{"known_warnings": 0}',
                                                  headers={"X-CSRF-Token": token})
                answers.append(status)
                if status != 200 or '"finished": true' in text or '"finished":true' in text:
                    return

        stepping = threading.Thread(target=step_until_done)
        stepping.start()
        reader, _ = _log_in(server)
        latencies = []
        pages = ["/", "/manage/", f"/backup/{backup_id}", "/profiles/"]
        while stepping.is_alive():
            began = time.monotonic()
            status, _, _ = reader.request("GET", pages[len(latencies) % len(pages)])
            latencies.append(time.monotonic() - began)
            assert status in (200, 302), status
            time.sleep(0.02)
        stepping.join()
    finally:
        server.stop()
    assert answers[-1] == 200 and records.get(backup_id).status == "ok", answers[-5:]
    assert len(latencies) >= 40, f"only {len(latencies)} requests: the backup was too short to measure"
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"backup UI while a {records.get(backup_id).size >> 20} MiB backup ran: {len(latencies)} requests, "
          f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")
    assert p95 < 0.5
    proof.cases += len(latencies)
    proof.note(f"{len(latencies)} page requests during a {records.get(backup_id).size >> 20} MiB backup: "
               f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (limit 500)")


def _together(commands: list[list[str]], env: dict) -> list[subprocess.CompletedProcess]:
    """Runs ``commands`` at the same moment; their results in the same order."""
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for c in commands]
    results = []
    for command, process in zip(commands, processes):
        out, err = process.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def _one_refused(results, message: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """(the one that ran, the one refused); the refused one said ``message`` in one line."""
    ran = [r for r in results if r.returncode in (0, 2)]
    refused = [r for r in results if r.returncode not in (0, 2)]
    assert len(ran) == 1 and len(refused) == 1, [(r.returncode, r.stderr[-300:]) for r in results]
    lines = refused[0].stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), refused[0].stderr
    return ran[0], refused[0]


@pytest.mark.proof("reliability", "two backups of the same profile are started at the same moment")
def test_a_second_backup_of_a_running_profile_is_refused(demo_site, tmp_path, proof):
    profiles.save(SLICES, name="slices")
    out = tmp_path / "out"
    ran, _ = _one_refused(_together([backup_command(demo_site.root, out)] * 2, with_key()),
                          r"^error: backup #\d+ of profile 'slices' is already running .*wait for it to "
                          r"finish, or stop it \(sitepack backups delete \d+\)")
    (record,) = records.list_records()  # the refused start left no record
    assert record.status == "ok"
    sitepack_verify(record.part_paths()[-1], ARCHIVE_KEY)
    assert {p.name for p in out.iterdir()} - {".htaccess", "web.config"} == set(record.parts)
    # Once it has finished, the profile is free again.
    again = subprocess.run(backup_command(demo_site.root, out), env=with_key(), capture_output=True, text=True)
    assert again.returncode in (0, 2), again.stderr
    proof.cases += 2
    proof.note("the second refused in one line, no record or file of it; the first verified; a later one ran")


@pytest.mark.proof("reliability", "two extractions, and two headless restores, into the same folder "
                                  "are started at the same moment")
def test_a_second_restore_into_the_same_folder_is_refused(demo_site, reference_backup, db_factory,
                                                          tmp_path, proof, php):
    dest, private = tmp_path / "extracted", tmp_path / "private"
    results = _together([extract_command(reference_backup.archive, dest, private)] * 2, with_key())
    _one_refused(results, rf"^error: another restore into {re.escape(str(dest))} is running")
    from tests.engine.engine_helpers import tree
    assert tree(dest) == reference_backup.site and tree(private) == reference_backup.private

    site = bundle_copy(demo_site, tmp_path / "site")
    target = db_factory()
    answers = tmp_path / "answers.json"
    answers.write_text(__import__("json").dumps({
        "db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "T_DBPW",
               "database": target.database, "prefix": "new_", "existing": "drop"},
        "super_user": {"password_env": "T_ADMINPW"}, "replace": {"enabled": False}}))
    command = ["sitepack", "restore", str(site), "--answers", str(answers)]
    results = _together([command] * 2, with_key(T_DBPW=target.password, T_ADMINPW="two at once"))
    _one_refused(results, rf"^error: another restore into {re.escape(str(site))} is running")
    compare_with_origin(demo_site, site, target, "new_")
    proof.cases += 2
    proof.note("each second one refused in one line; the first extracted the same tree / restored "
               "the same rows")
