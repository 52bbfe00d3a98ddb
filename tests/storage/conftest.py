"""A real S3 server for the storage tests: moto in server mode on loopback, one per session,
behind a counting proxy (``harness/s3server.py``); a fresh bucket per test. A real SFTP
server: Debian's sshd on loopback, one per session (``harness/sshserver.py``)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.s3server import REGION, MotoS3Server, S3Proxy
from harness.sshserver import SftpServer

_BUCKETS = itertools.count(1)


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    server = MotoS3Server(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@dataclasses.dataclass
class S3Bucket:
    server: MotoS3Server
    proxy: S3Proxy
    name: str

    @property
    def client(self):
        """A client straight to the server (what the test checks, not counted)."""
        return self.server.client()

    def storage(self, **extra) -> dict:
        """A profile's ``storage`` settings for this bucket, through the proxy."""
        return {"type": "s3", "bucket": self.name, "endpoint_url": self.proxy.url,
                "region": REGION, "path_style": True, **extra}

    def open_uploads(self) -> list[dict]:
        return self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", [])

    def keys(self) -> list[str]:
        return [o["Key"] for o in self.client.list_objects_v2(Bucket=self.name).get("Contents", [])]


@pytest.fixture
def s3(moto_s3, monkeypatch):
    """A new bucket, the proxy in front of the server, and the valid key in the environment
    (boto3's standard chain, as a user's shell or cron would have it)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in moto_s3.credentials.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    name = f"sitepack-test-{next(_BUCKETS)}"
    moto_s3.client().create_bucket(Bucket=name)
    proxy = S3Proxy(moto_s3.url).start()
    yield S3Bucket(moto_s3, proxy, name)
    proxy.stop()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """Debian's OpenSSH server on loopback, SFTP only (``harness/sshserver.py``)."""
    with SftpServer(tmp_path_factory.mktemp("sshd")) as running:
        yield running


def sftp_settings(sshd, tmp_path, folder, **extra) -> dict:
    """A profile's ``storage`` for ``sshd`` into ``folder``, trusting its host key."""
    return {"type": "sftp", "host": sshd.host, "port": sshd.port, "user": sshd.user,
            "key_file": str(sshd.client_key), "folder": str(folder),
            "known_hosts": str(sshd.known_hosts(tmp_path / "known_hosts")),
            "piece_size": 64 * 1024, **extra}


def restore_on_new_host(demo_site, restored: Path, target, answers: Path) -> None:
    """Restores the extracted ``restored`` into the database ``target`` headlessly (new
    prefix, new URL) and checks the result against the demo site it came from."""
    from tests.restore.bundles import compare_with_origin
    answers.write_text(json.dumps({
        "db": {"host": target.host, "port": target.port, "user": target.user,
               "password_env": "T_DBPW", "database": target.database, "prefix": "new_",
               "existing": "drop"},
        "site": {"live_site": "https://new.example.org/site", "htaccess": "keep"},
        "replace": {"enabled": False}}))
    restore = subprocess.run(["sitepack", "restore", str(restored), "--answers", str(answers)],
                             capture_output=True, text=True,
                             env=dict(os.environ, T_DBPW=target.password))
    assert restore.returncode == 0, restore.stdout + restore.stderr
    compare_with_origin(demo_site, restored, target, "new_")
