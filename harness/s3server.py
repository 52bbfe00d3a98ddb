"""A real S3 server on loopback for the storage tests: moto in server mode, its own process.

``MotoS3Server`` starts ``moto.server`` on a free 127.0.0.1 port with IAM authentication
on (``INITIAL_NO_AUTH_ACTION_COUNT``): the first requests create an IAM user and its
access key, and from then on every request must be signed with a key moto knows, so
wrong credentials are refused as by AWS. ``S3Proxy`` sits between sitepack and the
server: it logs every request the server answered (to count that no stored piece is
sent twice) and can stall or cut requests (a kill mid-upload, a dropped connection).
"""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import json
import socketserver
import sys
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from .webservers import LoopbackServer, free_port

REGION = "us-east-1"
#: Requests moto answers without a signature: the three that make the test user below.
_SETUP_ACTIONS = 3
_ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})


class MotoS3Server(LoopbackServer):
    """``python -m moto.server`` on loopback; ``credentials`` are a valid key pair."""

    name = "moto_server"

    def __init__(self, workdir: Path, host: str = "127.0.0.1", port: int | None = None):
        super().__init__(host, port)
        self.workdir = Path(workdir)
        self.credentials: dict[str, str] = {}

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def environment(self) -> dict[str, str]:
        import os
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return dict(env, INITIAL_NO_AUTH_ACTION_COUNT=str(_SETUP_ACTIONS),
                    AWS_DEFAULT_REGION=REGION, MOTO_ALLOW_NONEXISTENT_REGION="true")

    def log_path(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self.workdir / f"moto-{self.port}.log"

    def start(self, timeout: float = 60.0) -> "MotoS3Server":
        super().start(timeout)
        import boto3
        iam = boto3.client("iam", endpoint_url=self.url, region_name=REGION,
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="sitepack-test")
        iam.put_user_policy(UserName="sitepack-test", PolicyName="all",
                            PolicyDocument=_ADMIN_POLICY)
        key = iam.create_access_key(UserName="sitepack-test")["AccessKey"]
        self.credentials = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        return self

    def client(self, endpoint: str | None = None):
        """A boto3 S3 client signed with the valid key (``endpoint``: e.g. a proxy's)."""
        import boto3
        from botocore.config import Config
        return boto3.client(
            "s3", endpoint_url=endpoint or self.url, region_name=REGION,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}))


@dataclasses.dataclass(frozen=True)
class Answered:
    """One request the server answered, as the proxy forwarded it."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body_size: int

    @property
    def upload_piece(self) -> tuple[str, str] | None:
        """(upload id, piece number) of an UploadPart request, else None."""
        if self.method == "PUT" and "uploadId" in self.query and "partNumber" in self.query:
            return self.query["uploadId"], self.query["partNumber"]
        return None


class S3Proxy:
    """A loopback HTTP proxy in front of ``target``, in this process (threads).

    ``answered`` lists the requests the server answered. ``hold(match)`` makes the
    next requests ``match`` accepts wait (never reaching the server) until ``release()``;
    ``cut(match, times)`` closes the connection of the next ``times`` matching
    requests after reading half their body, as a dropped network would.
    ``on_request`` is called as each request arrives (e.g. to look at the disk then).
    """

    def __init__(self, target: str, host: str = "127.0.0.1"):
        self.target = urllib.parse.urlsplit(target)
        self.host, self.port = host, free_port(host)
        self.answered: list[Answered] = []
        self.held = threading.Event()       # set while a request waits in hold
        self.on_request: Callable[[], None] | None = None  # called as each request arrives
        self._hold: Callable[[str, str, dict], bool] | None = None
        self._release = threading.Event()
        self._cut: Callable[[str, str, dict], bool] | None = None
        self._cuts_left = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                proxy._forward(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = socketserver.ThreadingTCPServer((host, self.port), Handler)
        self._server.daemon_threads = True
        self._server.allow_reuse_address = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "S3Proxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def hold(self, match: Callable[[str, str, dict], bool]) -> None:
        self._release.clear()
        self.held.clear()
        self._hold = match

    def release(self) -> None:
        self._hold = None
        self._release.set()

    def cut(self, match: Callable[[str, str, dict], bool], times: int = 1) -> None:
        with self._lock:
            self._cut, self._cuts_left = match, times

    def pieces_sent(self) -> list[tuple[str, str]]:
        """(upload id, piece number) of every UploadPart the server accepted."""
        return [a.upload_piece for a in self.answered if a.upload_piece and a.status == 200]

    def _forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        method = handler.command
        length = int(handler.headers.get("Content-Length") or 0)
        if self.on_request is not None:
            self.on_request()
        if self._hold is not None and self._hold(method, split.path, query):
            self.held.set()
            self._release.wait()
            handler.close_connection = True
            return
        with self._lock:
            cutting = self._cut is not None and self._cuts_left > 0 and self._cut(method, split.path, query)
            if cutting:
                self._cuts_left -= 1
        if cutting:
            handler.rfile.read(length // 2)
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
        conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=120)
        try:
            conn.request(method, handler.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            status, reply_headers = answer.status, answer.getheaders()
        finally:
            conn.close()
        with self._lock:
            self.answered.append(Answered(method, split.path, query, status, len(body)))
        handler.send_response_only(status)
        for name, value in reply_headers:
            # A HEAD answer's Content-Length is the object's size: passed on as it is.
            if name.lower() in ("connection", "transfer-encoding") or (
                    name.lower() == "content-length" and method != "HEAD"):
                continue
            handler.send_header(name, value)
        if method != "HEAD":
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)
