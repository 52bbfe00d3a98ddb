"""S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Backblaze B2, Wasabi) via boto3.

Settings (a profile's ``storage`` with ``"type": "s3"``): ``bucket``; ``prefix`` (the
key prefix, naming variables allowed); ``endpoint_url`` and ``region`` (else boto3's
own configuration); ``path_style``; ``storage_class``; ``sse`` (``AES256`` or
``aws:kms``, with ``sse_kms_key_id``); ``piece_size`` (multipart piece, at least
5 MiB). Credentials come from boto3's standard chain (environment, ``~/.aws``
profiles, instance roles), narrowed by ``aws_profile`` / ``credentials_file``, or from
the environment variables named by ``access_key_id_env`` / ``secret_access_key_env`` /
``session_token_env``: a profile names where a secret is, never holds it.

A part up to one piece goes in one PUT; a larger one as a multipart upload sitepack
manages itself (boto3's transfer manager aborts on failure and cannot resume in another
process): the upload id and each finished piece's ETag live in ``PartUpload.resume``,
saved as each piece is confirmed (a few pieces are in flight at once, as boto3 does).
Every request carries its body's MD5 (``Content-MD5``), so the server refuses a piece
damaged in transit; the whole part's SHA-256 is stored as the object's ``sha256``
metadata and compared, with the size, before the part counts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from restorer.errors import SitepackError

from .base import PartUpload, RemoteObject, Storage, StorageError
from .common import checked_settings, download, piece_size, setting_error

MIN_PIECE = 5 * 1024 * 1024          # S3's smallest multipart piece (except the last)
DEFAULT_PIECE = 8 * 1024 * 1024
#: Pieces of one part in flight at once (memory: this many pieces plus one being read).
_PARALLEL_PIECES = 4
_MAX_PIECES = 10_000
_DOWNLOAD_CHUNK = 1024 * 1024
STORAGE_CLASSES = ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                   "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
SSE_MODES = ("AES256", "aws:kms")
_TEXT_KEYS = ("bucket", "prefix", "endpoint_url", "region", "storage_class", "sse",
              "sse_kms_key_id", "aws_profile", "credentials_file", "access_key_id_env",
              "secret_access_key_env", "session_token_env")
_SECRET_KEYS = ("access_key_id", "secret_access_key", "session_token", "aws_access_key_id",
                "aws_secret_access_key", "aws_session_token", "password", "secret")
_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                     "ExpiredToken", "InvalidClientTokenId", "AuthorizationHeaderMalformed")
_MISSING_UPLOAD = ("NoSuchUpload", "404")
#: boto3's network failures in words (their own messages repeat the whole URL).
_NETWORK_REASONS = {"EndpointConnectionError": "no connection",
                    "ConnectionClosedError": "the connection was closed mid-request",
                    "ReadTimeoutError": "no answer in time", "ConnectTimeoutError": "no connection in time",
                    "SSLError": "TLS failed", "ProxyConnectionError": "the proxy refused"}


def _secret_hint(key: str) -> str:
    named = next((f"{name}_env" for name in ("access_key_id", "session_token") if name in key),
                 "secret_access_key_env")
    return (f"put it in an environment variable and name that variable in 'storage.{named}', "
            f"or use ~/.aws/credentials")


class S3Storage(Storage):
    scheme = "s3"
    folder_key = "prefix"

    @classmethod
    def validate(cls, settings: dict) -> dict:
        checked = checked_settings(
            settings, text_keys=_TEXT_KEYS, other_keys=("path_style", "piece_size"),
            secret_keys=_SECRET_KEYS, secret_hint=_secret_hint)
        if not checked["bucket"]:
            raise setting_error("bucket", "name the bucket the parts go to")
        checked["prefix"] = checked["prefix"] or ""
        if checked["storage_class"] and checked["storage_class"] not in STORAGE_CLASSES:
            raise setting_error("storage_class", f"{checked['storage_class']!r} is not one of "
                                f"{', '.join(STORAGE_CLASSES)}")
        if checked["sse"] and checked["sse"] not in SSE_MODES:
            raise setting_error("sse", f"{checked['sse']!r} is not one of {', '.join(SSE_MODES)}")
        if checked["sse_kms_key_id"] and checked["sse"] != "aws:kms":
            raise setting_error("sse_kms_key_id", "needs 'sse': 'aws:kms'")
        if bool(checked["access_key_id_env"]) != bool(checked["secret_access_key_env"]):
            raise setting_error("access_key_id_env", "name both access_key_id_env and "
                                "secret_access_key_env, or neither")
        path_style = settings.get("path_style", False)
        if not isinstance(path_style, bool):
            raise setting_error("path_style", "must be true or false")
        piece = piece_size(settings, default=DEFAULT_PIECE, minimum=MIN_PIECE,
                           why=" (5 MiB, S3's smallest multipart piece)")
        return {**checked, "path_style": path_style, "piece_size": piece}

    def __init__(self, settings: dict, folder: str):
        super().__init__(settings, folder)
        self.bucket = settings["bucket"]
        self._client_cache = None

    @property
    def location(self) -> str:
        folder = self.folder.strip("/")
        return f"s3://{self.bucket}/{folder + '/' if folder else ''}"

    def key(self, name: str) -> str:
        return "/".join(p for p in (self.folder.strip("/"), name) if p)

    # -- the connection ------------------------------------------------------------------
    @property
    def client(self):
        if self._client_cache is None:
            self._client_cache = self._new_client()
        return self._client_cache

    def _new_client(self):
        s = self.settings
        core = botocore.session.Session()
        if s["credentials_file"]:
            core.set_config_variable("credentials_file", s["credentials_file"])
        credentials: dict[str, str] = {}
        for field, argument in (("access_key_id_env", "aws_access_key_id"),
                                ("secret_access_key_env", "aws_secret_access_key"),
                                ("session_token_env", "aws_session_token")):
            name = s[field]
            if name:
                value = os.environ.get(name)
                if not value:
                    raise StorageError(f"the environment variable {name} (storage.{field}) is "
                                       f"not set: export it before the backup runs")
                credentials[argument] = value
        try:
            session = boto3.session.Session(botocore_session=core, profile_name=s["aws_profile"])
        except BotoCoreError as exc:
            raise StorageError(f"S3 credentials: {exc}; fix storage.aws_profile or "
                               f"~/.aws/credentials") from None
        config = Config(s3={"addressing_style": "path" if s["path_style"] else "auto"},
                        retries={"max_attempts": 4, "mode": "standard"},
                        connect_timeout=10, read_timeout=60,
                        # Integrity is Content-MD5 per request plus the SHA-256 metadata:
                        # understood by every S3-compatible server, unlike the newer
                        # streaming checksums.
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        return session.client("s3", endpoint_url=s["endpoint_url"], region_name=s["region"],
                              config=config, **credentials)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turns boto3's failures into one line saying what to do."""
        where = self.settings["endpoint_url"] or "AWS S3"
        try:
            yield
        except NoCredentialsError:
            raise StorageError(f"{what}: no S3 credentials found; set AWS_ACCESS_KEY_ID and "
                               f"AWS_SECRET_ACCESS_KEY, a ~/.aws/credentials profile, or name "
                               f"your variables in storage.access_key_id_env") from None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _CREDENTIAL_CODES:
                raise StorageError(f"{what}: {where} refused the credentials ({code}); check the "
                                   f"access key and secret the profile's storage uses") from None
            if code == "NoSuchBucket" or (code == "404" and what.startswith("checking")):
                raise StorageError(f"{what}: the bucket {self.bucket!r} does not exist on {where}; "
                                   f"create it or fix storage.bucket") from None
            if code in ("AccessDenied", "403", "AllAccessDisabled"):
                raise StorageError(f"{what}: {where} denied access to bucket {self.bucket!r} "
                                   f"({code}); check the credentials and the bucket's policy") from None
            raise StorageError(f"{what}: {where} answered {code or 'an error'}: "
                               f"{exc.response.get('Error', {}).get('Message', '')}".rstrip(": ")) from None
        except (BotoCoreError, OSError) as exc:
            reason = _NETWORK_REASONS.get(type(exc).__name__, type(exc).__name__)
            raise StorageError(f"{what}: cannot reach {where} ({reason}); check the network "
                               f"and storage.endpoint_url") from None

    def check(self) -> None:
        with self._errors(f"checking {self.location}"):
            self.client.head_bucket(Bucket=self.bucket)

    def _object_settings(self) -> dict:
        s = self.settings
        extra = {}
        if s["storage_class"]:
            extra["StorageClass"] = s["storage_class"]
        if s["sse"]:
            extra["ServerSideEncryption"] = s["sse"]
        if s["sse_kms_key_id"]:
            extra["SSEKMSKeyId"] = s["sse_kms_key_id"]
        return extra

    # -- one part ------------------------------------------------------------------------
    def upload(self, local: Path, upload: PartUpload, *, deadline: float,
               saved: Callable[[], None]) -> bool:
        if upload.stored:
            return True
        with self._errors(f"uploading {upload.name} to {self.location}"):
            if upload.size <= self.settings["piece_size"]:
                self._put_whole(local, upload)
            elif not self._put_pieces(local, upload, deadline, saved):
                return False
        self.verify(upload)
        upload.status, upload.resume = "stored", {}
        saved()
        return True

    def _put_whole(self, local: Path, upload: PartUpload) -> None:
        data = local.read_bytes()
        self.client.put_object(Bucket=self.bucket, Key=self.key(upload.name), Body=data,
                               ContentMD5=_md5_b64(data), Metadata={"sha256": upload.sha256},
                               **self._object_settings())

    def _put_pieces(self, local: Path, upload: PartUpload, deadline: float,
                    saved: Callable[[], None]) -> bool:
        key, piece_size = self.key(upload.name), self.settings["piece_size"]
        piece_size = max(piece_size, -(-upload.size // _MAX_PIECES))
        state = upload.resume
        if state.get("piece_size") not in (None, piece_size):
            self.abort(upload)
        if "upload_id" not in state:
            state.update(upload_id=self._open_upload(key, upload), piece_size=piece_size, etags={})
            saved()  # from here a kill leaves an upload the saved state can abort or continue
        on_server = self._listed_pieces(key, state)
        if on_server is None:  # the upload is gone: completed before a kill, or aborted
            remote = self.stat(upload.name)
            if remote and (remote.size, remote.sha256) == (upload.size, upload.sha256):
                return True
            state.clear()
            return self._put_pieces(local, upload, deadline, saved)
        etags: dict[str, str] = state["etags"]
        count = -(-upload.size // piece_size)
        sending: dict[Future, int] = {}

        def collect(block: bool) -> None:
            """Records the pieces the server has confirmed (in this thread: ``saved``)."""
            done, _ = wait(sending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for future in done:
                etags[str(sending.pop(future))] = future.result()
                saved()

        with open(local, "rb") as handle, ThreadPoolExecutor(_PARALLEL_PIECES) as pool:
            for number in range(1, count + 1):
                if on_server.get(number) and on_server[number] == etags.get(str(number)):
                    continue
                if time.monotonic() >= deadline:
                    break
                handle.seek((number - 1) * piece_size)
                data = handle.read(piece_size)
                if on_server.get(number) == f'"{hashlib.md5(data).hexdigest()}"':
                    # Stored by a process killed before it saved the ETag: not sent again.
                    etags[str(number)] = on_server[number]
                    saved()
                    continue
                while len(sending) >= _PARALLEL_PIECES:
                    collect(block=True)
                sending[pool.submit(self._send_piece, key, state["upload_id"], number,
                                    data)] = number
                collect(block=False)
            while sending:
                collect(block=True)
        if len(etags) < count:
            return False
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=state["upload_id"],
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[str(n)]}
                                       for n in range(1, count + 1)]})
        return True

    def _send_piece(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """One piece (on a worker thread, which also hashes it); its ETag."""
        answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                         PartNumber=number, Body=data, ContentMD5=_md5_b64(data))
        return answer["ETag"]

    def _open_upload(self, key: str, upload: PartUpload) -> str:
        """A new multipart upload, or the one a process killed before saving its id left."""
        left = sorted(self._open_uploads(key), key=lambda u: u["Initiated"])
        for extra in left[:-1]:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key,
                                               UploadId=extra["UploadId"])
        if left:
            return left[-1]["UploadId"]
        answer = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, Metadata={"sha256": upload.sha256},
            **self._object_settings())
        return answer["UploadId"]

    def _open_uploads(self, key: str) -> list[dict]:
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        return [u for u in answer.get("Uploads", []) if u["Key"] == key]

    def _listed_pieces(self, key: str, state: dict) -> dict[int, str] | None:
        """Piece number → ETag as the server lists them; None when the upload is gone."""
        pieces: dict[int, str] = {}
        marker = 0
        while True:
            try:
                answer = self.client.list_parts(Bucket=self.bucket, Key=key,
                                                UploadId=state["upload_id"],
                                                PartNumberMarker=marker)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in _MISSING_UPLOAD:
                    return None
                raise
            for part in answer.get("Parts", []):
                pieces[part["PartNumber"]] = part["ETag"]
            if not answer.get("IsTruncated"):
                return pieces
            marker = answer["NextPartNumberMarker"]

    def abort(self, upload: PartUpload) -> None:
        key = self.key(upload.name)
        with self._errors(f"aborting the upload of {upload.name} to {self.location}"):
            ids = {u["UploadId"] for u in self._open_uploads(key)}
            if upload.resume.get("upload_id"):
                ids.add(upload.resume["upload_id"])
            for upload_id in ids:
                try:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key,
                                                       UploadId=upload_id)
                except ClientError as exc:
                    if str(exc.response.get("Error", {}).get("Code")) not in _MISSING_UPLOAD:
                        raise
        upload.resume.clear()

    def stat(self, name: str) -> RemoteObject | None:
        with self._errors(f"looking up {name} on {self.location}"):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=self.key(name))
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey"):
                    return None
                raise
        return RemoteObject(name, head["ContentLength"], head.get("Metadata", {}).get("sha256"))

    def fetch(self, remote: RemoteObject, dest: Path) -> None:
        def read_from(offset: int) -> Iterator[bytes]:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(remote.name),
                                            Range=f"bytes={offset}-")
            yield from answer["Body"].iter_chunks(_DOWNLOAD_CHUNK)

        download(remote, dest, read_from,
                 self._errors(f"downloading {remote.name} from {self.location}"))

    def delete(self, name: str) -> None:
        with self._errors(f"deleting {name} from {self.location}"):
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def names(self) -> list[str]:
        """The names in this folder (one listing, no request per object)."""
        folder = self.folder.strip("/")
        prefix = folder + "/" if folder else ""
        names = []
        with self._errors(f"listing {self.location}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                names += [item["Key"][len(prefix):] for item in page.get("Contents", [])]
        return names


def parse_url(url: str) -> tuple[str, str, str]:
    """``s3://bucket/folder/name`` → (bucket, folder, name)."""
    rest = url.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    folder, _, name = key.rpartition("/")
    if not url.startswith("s3://") or not bucket or not name:
        raise SitepackError(f"{url!r} is not an S3 object URL: write it as s3://BUCKET/KEY")
    return bucket, folder, name


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


STORAGE = S3Storage
