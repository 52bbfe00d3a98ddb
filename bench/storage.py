"""Off-site upload benchmark: sitepack's S3 upload against boto3's ``upload_file``, same run.

Makes a split archive of about ``--size`` MiB (``sitepack pack`` of incompressible data,
JPA, ``--part-size`` parts), starts moto's S3 server on loopback (``harness/s3server.py``)
and uploads every part ``--rounds`` times with each tool, interleaved, into fresh keys
(deleted after each timing so the in-memory server stays small):

- **sitepack**: ``packer.storage.s3.S3Storage.upload``, the code the backup engine runs
  (its own multipart upload, one piece at a time, the state saved after each piece,
  Content-MD5 per request, SHA-256 of the part first, verified by HEAD afterwards);
- **boto3 upload_file**: boto3's transfer manager with its defaults (8 MiB pieces,
  10 threads), no verification.

Prints MiB/s per tool (median of the rounds) and sitepack's ratio to boto3.

    python bench/storage.py [--size 1024] [--part-size 200] [--rounds 3] [--piece 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.s3server import REGION, MotoS3Server  # noqa: E402
from packer.storage import new_upload, open_storage, validate_settings  # noqa: E402

MIB = 1024 * 1024
BUCKET = "sitepack-bench"


def make_archive(work: Path, size_mib: int, part_mib: int) -> list[Path]:
    data = work / "data"
    data.mkdir()
    for number in range(0, size_mib, 64):
        (data / f"blob-{number:05d}.bin").write_bytes(os.urandom(min(64, size_mib - number) * MIB))
    out = work / "archive.jpa"
    subprocess.run([sys.executable, "-m", "packer.cli", "pack", str(data), "--output", str(out),
                    "--part-size", f"{part_mib}M", "--quiet"], check=True)
    shutil.rmtree(data)
    return sorted(work.glob("archive.j[0-9]*")) + [out]


def sitepack_upload(server: MotoS3Server, parts: list[Path], prefix: str, piece_mib: int) -> None:
    settings = validate_settings({"type": "s3", "bucket": BUCKET, "endpoint_url": server.url,
                                  "region": REGION, "path_style": True,
                                  "piece_size": piece_mib * MIB})
    storage = open_storage(settings, prefix)
    for part in parts:
        upload = new_upload(part)
        assert storage.upload(part, upload, deadline=float("inf"), saved=lambda: None)


def boto3_upload(server: MotoS3Server, parts: list[Path], prefix: str) -> None:
    client = server.client()
    for part in parts:
        client.upload_file(str(part), BUCKET, f"{prefix}/{part.name}")


def empty_bucket(server: MotoS3Server) -> None:
    client = server.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="archive size in MiB")
    parser.add_argument("--part-size", type=int, default=200, help="part size in MiB")
    parser.add_argument("--piece", type=int, default=8, help="sitepack's piece size in MiB")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sitepack-bench-storage-"))
    server = MotoS3Server(work / "moto")
    try:
        parts = make_archive(work, args.size, args.part_size)
        total = sum(p.stat().st_size for p in parts)
        server.start()
        for name, value in server.credentials.items():
            os.environ[name] = value
        server.client().create_bucket(Bucket=BUCKET)
        times: dict[str, list[float]] = {"sitepack": [], "boto3 upload_file": []}
        for round_number in range(args.rounds):
            order = list(times) if round_number % 2 == 0 else list(reversed(times))
            for tool in order:
                began = time.perf_counter()
                if tool == "sitepack":
                    sitepack_upload(server, parts, f"sitepack-{round_number}", args.piece)
                else:
                    boto3_upload(server, parts, f"boto3-{round_number}")
                times[tool].append(time.perf_counter() - began)
                empty_bucket(server)
        print(f"{len(parts)} parts, {total / MIB:.0f} MiB, {args.rounds} rounds, moto on loopback")
        print(f"{'tool':20} {'median s':>9} {'MiB/s':>8}")
        rates = {}
        for tool, seconds in times.items():
            median = statistics.median(seconds)
            rates[tool] = total / MIB / median
            print(f"{tool:20} {median:9.1f} {rates[tool]:8.1f}")
        print(f"sitepack / boto3 upload_file: {rates['sitepack'] / rates['boto3 upload_file']:.2f}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
