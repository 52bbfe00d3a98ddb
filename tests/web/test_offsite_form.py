"""The profile page never lets a web session set how sitepack logs in to storage, which
server it trusts or where S3 requests go (packer/web/offsite_form.py)."""

from __future__ import annotations

import pytest

from packer import profiles
from packer.web.offsite_form import CLI_ONLY
from tests.web.web_login import site_client

SAVED = {"type": "sftp", "host": "backup.example.net", "user": "site1", "folder": "sites",
         "key_file": "/root/.ssh/id_backup", "known_hosts": "/root/.ssh/known_hosts"}
FORGED = {"key_file": "/etc/ssl/private/site.key", "key_passphrase_env": "DB_PASSWORD",
          "password_env": "DB_PASSWORD", "password_file": "/var/www/wp-config.php",
          "use_agent": "on", "known_hosts": "/tmp/attacker_known_hosts",
          "host_key_sha256": "SHA256:attackerattackerattackerattackerattacker000",
          "aws_profile": "prod", "credentials_file": "/root/.aws/credentials",
          "access_key_id_env": "AWS_ACCESS_KEY_ID", "secret_access_key_env": "DB_PASSWORD",
          "session_token_env": "SECRET", "endpoint_url": "https://attacker.example"}


@pytest.fixture
def client(tmp_path):
    return site_client(tmp_path)


def _form(client, **storage) -> dict:
    return {"csrf_token": client.csrf, "original": "nightly", "name": "nightly",
            "format": "jpa", "name_template": "site-[DATE]", "log_level": "info",
            "backup_type": "full", "min_exec": "1", "max_exec": "10", "retry_wait": "10",
            "retry_count": "3", **{f"storage.{k}": v for k, v in storage.items()}}


@pytest.mark.proof("security", "a forged profile form naming a storage credential, trusted key or S3 endpoint")
def test_a_forged_form_cannot_set_login_trust_or_endpoint(client, proof):
    assert set(FORGED) == set(CLI_ONLY)
    for kind, saved in (("sftp", SAVED), ("s3", {"type": "s3", "bucket": "b", "prefix": "p"})):
        profiles.save({"storage": saved}, name="nightly")
        before = profiles.load("nightly").storage
        for key, value in FORGED.items():
            answer = client.post("/profiles/save", data=_form(
                client, **{**saved, key: value}))
            assert answer.status_code == 302, answer.text
            assert profiles.load("nightly").storage == before, key
            proof.cases += 1
    proof.note(f"{len(FORGED)} settings x 2 storage types ignored")


def test_the_page_shows_login_settings_but_no_field_for_them(client):
    profiles.save({"storage": SAVED}, name="nightly")
    page = client.get("/profiles/?name=nightly").text
    assert "key_file=/root/.ssh/id_backup" in page
    for key in CLI_ONLY:
        assert f'name="storage.{key}"' not in page
