"""Hostile and damaged input (E4, issue 23 part 4): every reader, fuzzed with hypothesis,
and hand-made damage: truncation at every record boundary, a decompression bomb (data
longer than its declared size), wrong passwords, tampered JPS 3.0 blocks.

Every case: a clear one-line ``SitepackError`` (or, where the damage leaves the content
intact, a correct result), no other exception, nothing written outside the target, no
hang (each example runs under an alarm). A damaged archive that still extracts with its
manifest checked must have extracted exactly the source: no archive that passes the
checks ever differs from what was packed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restorer.bundle import read_bundle
from restorer.dbimport.sqlstream import MarkerStatementReader, plain_statements
from restorer.errors import SitepackError, WrongPasswordError
from restorer.extract.extractor import extract
from restorer.extract.manifest import ManifestReader
from restorer.restore.answers import DbAnswers
from tests.engine.engine_helpers import tree

PASSWORD = "hostile input"
FORMATS = ("jpa", "zip", "jps", "jps2", "jpa-split")
SECONDS = 20  # far more than any example needs: beyond it, a hang
# Damaged copies per reader in ``make test``; the archive fuzz tries ten times more in
# ``make test-long`` (``ARCHIVE_EXAMPLES``).
EXAMPLES = 30
ARCHIVE_EXAMPLES = [EXAMPLES, pytest.param(10 * EXAMPLES, marks=pytest.mark.long, id="long")]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@contextlib.contextmanager
def time_limit(seconds: int = SECONDS):
    def hung(signum, frame):
        raise AssertionError(f"no answer within {seconds} s: a hang")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def clear_error(exc: SitepackError) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> dict:
    """fmt -> (folder holding the archive's parts, the part to open); and the source tree."""
    base = tmp_path_factory.mktemp("hostile")
    source = base / "source"
    rng = random.Random(7)
    (source / "images" / "deep").mkdir(parents=True)
    (source / "index.php").write_text("<?php echo 'hello';\n")
    (source / "images" / "photo.jpg").write_bytes(rng.randbytes(90_000))
    (source / "images" / "deep" / "notes.txt").write_text("compressible line\n" * 4000)
    (source / "empty").mkdir()
    os.symlink("images/photo.jpg", source / "link.jpg")
    archives = {}
    for fmt in FORMATS:
        folder = base / fmt
        folder.mkdir()
        real = fmt.split("-")[0]
        suffix = {"jps2": "jps"}.get(real, real)
        archive = folder / f"site.{suffix}"
        command = ["sitepack", "pack", str(source), "-o", str(archive), "--format", real, "-q"]
        if fmt == "jpa-split":
            command += ["--part-size", "64K"]
        if real in ("jps", "jps2"):
            command += ["--password-env", "ARCHIVE_KEY"]
        run = subprocess.run(command, env={**os.environ, "ARCHIVE_KEY": PASSWORD}, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        archives[fmt] = (folder, archive)
    return {"archives": archives, "tree": tree(source)}


def _password(fmt: str) -> str | None:
    return PASSWORD if fmt.startswith("jps") else None


def try_extract(folder: Path, archive: Path, fmt: str, expected_tree: dict, password=None) -> str:
    """Extracts a (damaged) copy; checks the promises; returns 'refused' or 'intact'."""
    with tempfile.TemporaryDirectory(dir=folder.parent) as work:
        work = Path(work)
        copy = work / "archive"
        shutil.copytree(folder, copy)
        dest, private = work / "dest", work / "private"
        with time_limit():
            try:
                report = extract(copy / archive.name, dest, password=password or _password(fmt),
                                 private_dir=private)
            except SitepackError as exc:
                clear_error(exc)
                outcome = "refused"
            else:
                # Checked against the manifest (all our archives carry one): exactly the source.
                assert report.manifest_checked
                got = tree(dest)
                # A plain folder's archive carries its manifest as an entry: extracted too.
                got.pop("installation/sitepack-manifest.tsv.gz")
                got.pop("installation")
                assert got == expected_tree, {k: (got.get(k), expected_tree.get(k))
                                              for k in got.keys() | expected_tree.keys()
                                              if got.get(k) != expected_tree.get(k)}
                outcome = "intact"
        assert {p.name for p in work.iterdir()} <= {"archive", "dest", "private", "private.lock"}, \
            list(work.iterdir())
        assert sorted(p.name for p in (copy).iterdir()) == sorted(p.name for p in folder.iterdir())
        temp = [n for _, _, names in os.walk(work) for n in names if n.endswith(".sitepack-tmp")]
        assert not temp, temp
    return outcome


def _mutate(data: bytes, how: str, at: int, payload: bytes) -> bytes:
    at %= max(1, len(data))
    if how == "flip":
        return data[:at] + bytes(b ^ 0xFF for b in payload[:8] or b"\x01") + data[at + len(payload[:8] or b"x"):]
    if how == "truncate":
        return data[:at]
    if how == "insert":
        return data[:at] + payload + data[at:]
    return data[:at] + payload + data[at + len(payload):]  # overwrite


@pytest.mark.proof("reliability", "hypothesis damages archives of every format (jpa, zip, jps 3.0, jps 2.0, "
                                  "split jpa) at random: flipped, truncated, inserted, overwritten bytes")
@pytest.mark.parametrize("examples", ARCHIVE_EXAMPLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_damaged_archives_are_refused_clearly_or_extract_exactly(fmt, examples, packed, tmp_path, proof):
    folder, archive = packed["archives"][fmt]
    parts = sorted(p for p in folder.iterdir())
    outcomes = {"refused": 0, "intact": 0}

    @settings(FUZZ, max_examples=examples)
    @given(part=st.integers(0, len(parts) - 1), how=st.sampled_from(["flip", "truncate", "insert", "overwrite"]),
           at=st.integers(0, 1 << 20), payload=st.binary(min_size=0, max_size=64))
    def damaged(part, how, at, payload):
        victim = parts[part]
        with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
            copy = Path(scratch) / "parts"
            shutil.copytree(folder, copy)
            target = copy / victim.name
            target.write_bytes(_mutate(victim.read_bytes(), how, at, payload))
            outcomes[try_extract(copy, archive, fmt, packed["tree"])] += 1

    damaged()
    proof.cases += sum(outcomes.values())
    proof.note(f"{outcomes['refused']} refused in one line, {outcomes['intact']} extracted exactly the source")


def _boundaries(fmt: str, data: bytes) -> list[int]:
    """Offsets where a record starts (its signature), and the end."""
    signatures = {"jpa": [b"JPA", b"JPF"], "jpa-split": [b"JPA", b"JPF"], "zip": [b"PK\x03\x04", b"PK\x01\x02",
                  b"PK\x05\x06"], "jps": [b"JPS", b"JPF", b"JPD", b"JPE"], "jps2": [b"JPS", b"JPF", b"JPE"]}[fmt]
    found = {m.start() for sig in signatures for m in re.finditer(re.escape(sig), data)}
    return sorted(found | {len(data)})


@pytest.mark.proof("reliability", "an archive is truncated at every record boundary (and one byte either "
                                  "side), every format")
@pytest.mark.parametrize("fmt", FORMATS)
def test_truncation_at_every_record_boundary_is_refused(fmt, packed, tmp_path, proof):
    folder, archive = packed["archives"][fmt]
    last = archive  # the part that holds the end of the archive
    data = last.read_bytes()
    cuts = sorted({c + d for c in _boundaries(fmt, data) for d in (-1, 0, 1) if 0 < c + d < len(data)})
    for cut in cuts:
        copy = tmp_path / f"cut-{cut}"
        shutil.copytree(folder, copy)
        (copy / last.name).write_bytes(data[:cut])
        assert try_extract(copy, archive, fmt, packed["tree"]) == "refused", f"cut at {cut} of {len(data)}"
        shutil.rmtree(copy)
        proof.cases += 1
    proof.note(f"{len(cuts)} cuts of {last.name} ({len(data)} bytes): every one refused in one line")


@pytest.mark.proof("reliability", "a decompression bomb: a ZIP entry whose data inflates far beyond its "
                                  "declared size (1 KiB declared, 64 MiB inside)")
def test_data_longer_than_its_declared_size_is_refused_without_filling_the_disk(tmp_path, proof):
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = bomb.compress(b"\0" * (64 << 20)) + bomb.flush()
    name = b"innocent.txt"
    declared = 1024
    crc = zlib.crc32(b"\0" * declared)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(deflated), declared,
                        len(name), 0) + name
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(deflated),
                          declared, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(deflated), 0)
    folder = tmp_path / "bomb"
    folder.mkdir()
    archive = folder / "bomb.zip"
    archive.write_bytes(local + deflated + central + end)
    assert len(deflated) < 100_000  # a ratio over 600:1
    dest = tmp_path / "work" / "dest"
    with time_limit():
        with pytest.raises(SitepackError) as caught:
            extract(archive, dest, private_dir=tmp_path / "work" / "private")
    clear_error(caught.value)
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) if dest.exists() else 0
    assert written <= declared, f"{written} bytes written for a {declared}-byte entry"
    proof.cases += 1
    proof.note(f"{len(deflated)} bytes that inflate to 64 MiB, declared 1 KiB: refused "
               f"({str(caught.value)[:60]}…), {written} bytes written")


@pytest.mark.proof("reliability", "encrypted archives (jps 3.0, jps 2.0) are opened with wrong passwords")
@pytest.mark.parametrize("fmt", ["jps", "jps2"])
def test_a_wrong_password_is_said_and_nothing_is_written(fmt, packed, tmp_path, proof):
    folder, archive = packed["archives"][fmt]
    # (Not a trailing NUL: HMAC pads its key with zeros, so in every PBKDF2-based KDF
    # "pw" and "pw\0" are one key; no environment variable can hold a NUL anyway.)
    for wrong in ("", "hostile inpuT", PASSWORD + " ", "x" * 1000, "hostile", "ḧostile input"):
        with time_limit():
            with pytest.raises(SitepackError) as caught:
                extract(archive, tmp_path / "dest", password=wrong or None, private_dir=tmp_path / "private")
        text = clear_error(caught.value)
        assert isinstance(caught.value, WrongPasswordError) or "password" in text, text
        assert not (tmp_path / "dest").exists() or not any((tmp_path / "dest").iterdir())
        proof.cases += 1
    proof.note(f"{proof.cases} wrong passwords: each said so in one line, nothing written")


def _jps_records(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each JPS 3.0 record after the archive header, by their signatures."""
    starts = sorted(m.start() for sig in (b"JPF", b"JPD", b"JPE") for m in re.finditer(sig, data))
    return [(a, b) for a, b in zip(starts, starts[1:] + [len(data)])]


@pytest.mark.proof("reliability", "JPS 3.0 blocks are tampered with: two swapped, one removed, one altered, "
                                  "one repeated")
def test_tampered_jps_blocks_are_refused(packed, tmp_path, proof):
    folder, archive = packed["archives"]["jps"]
    data = archive.read_bytes()
    records = _jps_records(data)
    assert len(records) > 6
    rng = random.Random(3)
    tampered = []
    # Eight places spread over the archive (each JPS open derives its key: about 0.2 s).
    for i in sorted({round(k * (len(records) - 3) / 7) for k in range(8)}):
        (a1, b1), (a2, b2) = records[i], records[i + 1]
        tampered.append(("swapped", data[:a1] + data[a2:b2] + data[a1:b1] + data[b2:]))
        tampered.append(("removed", data[:a1] + data[b1:]))
        tampered.append(("repeated", data[:b1] + data[a1:b1] + data[b1:]))
        spot = rng.randrange(a1 + 3, b1)
        tampered.append(("altered", data[:spot] + bytes([data[spot] ^ 0x5A]) + data[spot + 1:]))
    for what, bytes_ in tampered:
        copy = tmp_path / f"t{proof.cases}"
        copy.mkdir()
        (copy / archive.name).write_bytes(bytes_)
        assert try_extract(copy, archive, "jps", packed["tree"]) == "refused", what
        shutil.rmtree(copy)
        proof.cases += 1
    proof.note(f"{len(tampered)} tampered copies ({len(records)} records): every one refused")


# --- the other readers: manifest, answers, databases.json, SQL dumps ----------------

# Any JSON document (what an answers file or databases.json may hold, whatever its shape).
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=6),
                           max_leaves=20)

def _only_clear_errors(call):
    with time_limit():
        try:
            return call()
        except SitepackError as exc:
            clear_error(exc)
            return None


@pytest.mark.proof("reliability", "hypothesis feeds random and damaged bytes to the manifest reader")
def test_the_manifest_reader_never_crashes(packed, proof):
    folder, archive = packed["archives"]["jpa"]
    with tempfile.TemporaryDirectory() as scratch:
        extract(archive, Path(scratch) / "d", private_dir=Path(scratch) / "p")
        seed = next(Path(scratch).rglob("sitepack-manifest.tsv.gz")).read_bytes()
    counted = [0]

    @FUZZ
    @given(at=st.integers(0, len(seed)), payload=st.binary(max_size=40), chunk=st.integers(1, 4096),
           how=st.sampled_from(["flip", "truncate", "insert", "overwrite"]))
    def feed(at, payload, chunk, how):
        data = _mutate(seed, how, at, payload)

        def parse():
            reader = ManifestReader()
            for i in range(0, len(data), chunk):
                reader.feed(data[i:i + chunk])
            return reader.finish()
        _only_clear_errors(parse)
        counted[0] += 1

    feed()
    proof.cases += counted[0]
    proof.note(f"{counted[0]} damaged manifests fed in random chunk sizes: parsed or refused in one line")


@pytest.mark.proof("reliability", "hypothesis writes random answers files (JSON of every shape) for the "
                                  "headless restore's database settings")
def test_answers_never_crash_the_parser(proof):
    keys = st.sampled_from(["host", "port", "user", "password", "password_env", "database", "prefix",
                            "existing", "socket"])
    counted = [0]

    @FUZZ
    @given(section=st.dictionaries(keys, JSON_VALUES, max_size=9) | JSON_VALUES)
    def parse(section):
        _only_clear_errors(lambda: DbAnswers.parse(section, "answers.db"))
        counted[0] += 1

    parse()
    proof.cases += counted[0]
    proof.note(f"{counted[0]} answers sections: each accepted or refused in one line")


@pytest.mark.proof("reliability", "hypothesis writes random databases.json files into an extracted bundle")
def test_databases_json_never_crashes_the_bundle_reader(tmp_path, proof):
    site = tmp_path / "site"
    (site / "installation").mkdir(parents=True)
    (site / "configuration.php").write_text("<?php class JConfig { public $db = 'x'; }\n")
    private = tmp_path / "private"
    (private / "sql").mkdir(parents=True)
    counted = [0]

    @FUZZ
    @given(content=st.one_of(st.binary(max_size=200),
                             JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                             st.dictionaries(st.sampled_from(["site.sql", "other.sql", "../x.sql", ""]),
                                             JSON_VALUES, max_size=3).map(lambda v: json.dumps(v).encode())))
    def read(content):
        (private / "sql" / "databases.json").write_bytes(content)
        _only_clear_errors(lambda: read_bundle(site, private))
        counted[0] += 1

    read()
    proof.cases += counted[0]
    proof.note(f"{counted[0]} databases.json files: read or refused in one line")


@pytest.mark.proof("reliability", "hypothesis feeds random and damaged SQL dumps to the statement readers")
def test_sql_dump_readers_never_crash_or_hang(tmp_path, proof):
    seed = (b"/**ABDB**/CREATE TABLE `#__t` (id INT, v TEXT);\n"
            b"/**ABDB**/INSERT INTO `#__t` VALUES (1,'a;b\\'c'),(2,'/**ABDB**/ inside');\n"
            b"/**ABDB**/DROP TABLE IF EXISTS `#__u`;\n")
    counted = [0]

    @FUZZ
    @given(at=st.integers(0, len(seed)), payload=st.binary(max_size=40),
           how=st.sampled_from(["flip", "truncate", "insert", "overwrite"]), plain=st.booleans())
    def read(at, payload, how, plain):
        path = tmp_path / "site.sql"
        path.write_bytes(_mutate(seed, how, at, payload))
        if plain:
            _only_clear_errors(lambda: list(plain_statements(path)))
        else:
            _only_clear_errors(lambda: list(MarkerStatementReader([path])))
        counted[0] += 1

    read()
    proof.cases += counted[0]
    proof.note(f"{counted[0]} damaged dumps: split into statements or refused in one line, none hung")
