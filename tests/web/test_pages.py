"""Backup Now form, Manage Backups and Profiles pages through the Flask test client."""

from __future__ import annotations

import re

import pytest

from packer import profiles, records
from packer.home import data_dir
from restorer.errors import WrongPasswordError
from restorer.extract.extractor import extract


def _finished_record(tmp_path, parts: dict[str, bytes], **fields) -> records.Record:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    for name, data in parts.items():
        (out / name).write_bytes(data)
    record = records.create(type="full", format="jpa", description="made for a test",
                            output_dir=str(out), archive_name=list(parts)[-1])
    return records.update(record.id, status="ok", parts=list(parts), size=sum(map(len, parts.values())),
                          **fields)


DEFAULT_KEY = "Default Key 1"


@pytest.mark.proof("security", "the Backup Now page is read for the profile's default archive key")
def test_the_default_key_never_reaches_the_page_and_an_empty_field_uses_it(client, site_root, tmp_path,
                                                                           proof):
    page = client.get("/backup/new").text
    assert 'id="archive_password"' not in page
    (site_root / "index.html").write_text("<h1>secret page</h1>\n")
    profiles.save({"format": "jps", "archive_password": DEFAULT_KEY, "backup_type": "files",
                   "min_exec": 0, "max_exec": 5}, name="enc")
    page = client.get("/backup/new?profile=enc").text
    proof.cases += 1
    assert DEFAULT_KEY not in page and DEFAULT_KEY.encode().hex() not in page
    assert 'id="archive_password"' in page and "This profile has a default key" in page
    assert re.search(r'id="description" name="description" value="Backup taken on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d', page)
    started = client.post("/backup/new", data={"csrf_token": client.csrf, "profile": "enc",
                                               "description": "keyed", "archive_password": ""})
    backup_id = int(started.headers["Location"].rsplit("/", 1)[1])
    for _ in range(20):
        if client.post(f"/backup/{backup_id}/step", json={"known_warnings": 0},
                       headers={"X-CSRF-Token": client.csrf}).json["finished"]:
            break
    archive = records.get(backup_id).part_paths()[-1]
    with pytest.raises(WrongPasswordError):
        extract(archive, tmp_path / "wrong", password="not the key")
    extract(archive, tmp_path / "out", password=DEFAULT_KEY)
    assert (tmp_path / "out" / "index.html").read_text() == "<h1>secret page</h1>\n"
    proof.note("key absent from the page; a backup started with the field empty opens with it")


def test_missing_description_is_refused_and_secrets_are_not_rendered_back(client):
    profiles.save({"format": "jps"}, name="enc")
    response = client.post("/backup/new", data={
        "csrf_token": client.csrf, "profile": "enc", "description": "  ", "comment": "keep <me>",
        "archive_password": "typed-key-123", "installer_password": "typed-installer-pw"})
    assert response.status_code == 400
    assert "The description is required" in response.text
    assert "keep &lt;me&gt;" in response.text
    assert "typed-key-123" not in response.text and "typed-installer-pw" not in response.text
    assert records.list_records() == []


def test_encrypted_profile_without_a_key_says_where_to_type_one(client, site_root):
    """The engine's password rule speaks to the front end that asked: the page names its
    Encryption key field, not the command line's options."""
    (site_root / "index.html").write_text("<h1>hello</h1>\n")
    profiles.save({"format": "jps", "backup_type": "files"}, name="enc")
    response = client.post("/backup/new", data={"csrf_token": client.csrf, "profile": "enc",
                                                 "description": "no key"})
    assert response.status_code == 400
    assert ("the jps format encrypts the archive and needs an archive password: type one in "
            "the Encryption key field, or store a default key in the profile") in response.text
    assert "--password-env" not in response.text
    assert records.list_records() == []


def test_a_key_sent_for_a_plain_format_is_refused_not_dropped(client, site_root):
    """The page dropped a key sent for a plain format (a form left open while its profile
    changed to zip) and wrote an unencrypted archive the user believed keyed; the engine's
    one archive-password rule refuses it, and the page says what to do."""
    (site_root / "index.html").write_text("<h1>hello</h1>\n")
    profiles.save({"format": "zip", "backup_type": "files"}, name="plain")
    response = client.post("/backup/new", data={"csrf_token": client.csrf, "profile": "plain",
                                                 "description": "stale form", "archive_password": "typed-key-123"})
    assert response.status_code == 400
    assert ("the zip format is not encrypted: drop the archive password or choose an encrypted "
            "format") in response.text
    assert "typed-key-123" not in response.text
    assert records.list_records() == []


def test_the_key_field_is_required_when_the_rule_needs_a_typed_key(client):
    profiles.save({"format": "jps"}, name="nokey")
    profiles.save({"format": "jps", "archive_password": DEFAULT_KEY}, name="withkey")

    def key_field(profile: str) -> str:
        page = client.get(f"/backup/new?profile={profile}").text
        return re.search(r'<input[^>]*id="archive_password"[^>]*>', page).group(0)

    assert " required" in key_field("nokey")
    assert " required" not in key_field("withkey")


def test_sizes_read_as_the_command_line_writes_them(client, tmp_path):
    """One size rule (restorer.progress.human_size) for the CLI and the web pages: the web
    UI wrote "3 bytes" where `sitepack backups list` writes "3 B"."""
    _finished_record(tmp_path, {"site.jpa": b"abc"})
    page = client.get("/manage/").text
    assert re.findall(r'<td class="num">(3 \w+)</td>', page) == ["3 B"]


def test_unknown_profile_is_reported(client):
    response = client.get("/backup/new?profile=nope")
    assert response.status_code == 400
    assert "there is no backup profile named &#39;nope&#39;" in response.text


def test_part_download_streams_with_content_length(client, tmp_path):
    record = _finished_record(tmp_path, {"site.j01": b"A" * 70000, "site.jpa": b"end"})
    first = client.get(f"/manage/{record.id}/part/1")
    assert first.status_code == 200
    assert first.headers["Content-Length"] == "70000"
    assert first.headers["Content-Disposition"] == "attachment; filename=site.j01"
    assert first.data == b"A" * 70000
    assert client.get(f"/manage/{record.id}/part/2").data == b"end"
    missing = client.get(f"/manage/{record.id}/part/3")
    assert missing.status_code == 404
    assert "has 2 part(s); there is no part 3" in missing.text
    assert client.get(f"/manage/{record.id}/part/site.jpa").status_code == 404


def test_download_refuses_a_record_whose_part_name_is_a_path(client, tmp_path):
    record = _finished_record(tmp_path, {"site.jpa": b"x"})
    records.update(record.id, parts=["../../etc/passwd"])
    response = client.get(f"/manage/{record.id}/part/1")
    assert response.status_code == 400
    assert "not a plain file name; refusing to touch it" in response.text


def test_log_viewer_escapes_the_log(client, tmp_path):
    log = data_dir() / "logs" / "backup-test.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("INFO | <script>alert(1)</script> & done\n")
    record = _finished_record(tmp_path, {"site.jpa": b"x"}, log_path=str(log))
    page = client.get(f"/manage/{record.id}/log").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; done" in page
    assert "<script>alert(1)" not in page


def test_freeze_blocks_delete_then_delete_files_and_delete(client, tmp_path):
    record = _finished_record(tmp_path, {"site.jpa": b"x"})
    part = tmp_path / "out" / "site.jpa"
    client.post(f"/manage/{record.id}/freeze", data={"csrf_token": client.csrf})
    refused = client.post(f"/manage/{record.id}/delete", data={"csrf_token": client.csrf},
                          follow_redirects=True)
    assert f"backup #{record.id} is frozen and cannot be deleted" in refused.text
    assert part.exists() and records.get(record.id).frozen
    client.post(f"/manage/{record.id}/unfreeze", data={"csrf_token": client.csrf})
    emptied = client.post(f"/manage/{record.id}/delete-files", data={"csrf_token": client.csrf},
                          follow_redirects=True)
    assert "were deleted; the record is kept as obsolete" in emptied.text
    assert not part.exists() and records.get(record.id).status == "obsolete"
    client.post(f"/manage/{record.id}/delete", data={"csrf_token": client.csrf})
    assert records.list_records() == []


def test_profile_errors_are_shown_and_nothing_is_saved(client):
    base = {"csrf_token": client.csrf, "original": "default", "name": "fast", "format": "jpa",
            "backup_type": "full", "log_level": "info", "name_template": "site-[DATE]",
            "min_exec": "0", "max_exec": "2", "retry_wait": "10", "retry_count": "3"}
    cases = {
        ("part_size", "lots"): "profile setting &#39;part_size&#39;: &#39;lots&#39; is not a size",
        ("part_size", "1K"): "profile setting &#39;part_size&#39;: 1024 must be at least 65536",
        ("retry_count", "two"): "profile setting &#39;retry_count&#39;: &#39;two&#39; is not a number",
        ("name", "bad name!"): "profile setting &#39;name&#39;: use 1 to 64 letters",
        ("filters.exclude_regex", "(unclosed"): "is not a valid regular expression",
    }
    for (field, value), message in cases.items():
        response = client.post("/profiles/save", data={**base, field: value})
        assert response.status_code == 400, field
        assert message in response.text, field
    assert profiles.list_profiles() == ["default"]


def test_profile_is_saved_with_filters_and_the_key_is_never_shown(client):
    response = client.post("/profiles/save", data={
        "csrf_token": client.csrf, "original": "default", "name": "nightly", "format": "jps",
        "backup_type": "files", "log_level": "debug", "name_template": "night-[DATE]",
        "part_size": "256K", "min_exec": "0", "max_exec": "3", "retry_wait": "1.5",
        "retry_count": "5", "archive_password": "Night Key", "default_filters": "on",
        "filters.exclude_dirs": "images/big\n\ncache2\n", "db.exclude_tables": "#__session"})
    assert response.status_code == 302
    saved = profiles.load("nightly")
    assert (saved.format, saved.backup_type, saved.part_size, saved.retry_wait, saved.retry_count) == \
        ("jps", "files", 262144, 1.5, 5)
    assert saved.archive_password == "Night Key"
    assert saved.filters["exclude_dirs"] == ["images/big", "cache2"]
    assert saved.db["exclude_tables"] == ["#__session"]
    page = client.get("/profiles/?name=nightly").text
    assert "Night Key" not in page and "a key is saved" in page
    # Saving again with an empty key field keeps the key; the checkbox removes it.
    form = {"csrf_token": client.csrf, "original": "nightly", "name": "nightly", "format": "jps",
            "backup_type": "files", "log_level": "debug", "name_template": "night-[DATE]",
            "min_exec": "0", "max_exec": "3", "retry_wait": "1", "retry_count": "3"}
    client.post("/profiles/save", data=form)
    assert profiles.load("nightly").archive_password == "Night Key"
    client.post("/profiles/save", data={**form, "clear_archive_password": "on"})
    assert profiles.load("nightly").archive_password is None


def test_control_panel_warnings_and_last_backup(client, tmp_path, site_root):
    profiles.save({"format": "jps2"}, name="default")
    page = client.get("/").text
    assert f"Default output directory in use ({site_root}/sitepack-backups)" in page
    assert "Encrypted format (jps2) without a default key" in page
    assert "No backup has been taken yet." in page
    record = _finished_record(tmp_path, {"site.jpa": b"x" * 2048}, description="Nightly &lt;1&gt;")
    page = client.get("/").text
    assert f"#{record.id} · Nightly &amp;lt;1&amp;gt;" in page
    assert "2.0 KiB" in page
