"""``sitepack pack``, ``ls``, ``verify`` and ``extract`` as a user runs them."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from packer.cli import main
from tests.archive.treeutil import PASSWORD, build_tree, noise, snapshot

MODEL = {
    "index.php": ("file", 0o644, 1_600_000_000, b"<?php echo 'hello';\n" * 50),
    "images": ("dir", 0o755, 1_600_000_001),
    "images/photo.jpg": ("file", 0o600, 1_600_000_002, noise(1_300_000)),
    "cache": ("dir", 0o700, 1_600_000_003),
    "latest": ("symlink", 1_600_000_004, "index.php"),
}


def run(*args, env=None) -> SimpleNamespace:
    """The command's exit code, its stdout and stderr apart, and ``output``: both.

    (click 8.1, pinned for the bundles' Python 3.9, captures them apart only when asked.)
    """
    result = CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args], env=env)
    return SimpleNamespace(exit_code=result.exit_code, stdout=result.stdout, stderr=result.stderr,
                           output=result.stdout + result.stderr, exception=result.exception)


@pytest.fixture
def site(tmp_path):
    build_tree(tmp_path / "site", MODEL)
    return tmp_path / "site"


@pytest.mark.parametrize("name, extra", [
    ("site.jpa", []), ("site.zip", []), ("site.jpa", ["--part-size", "64K"]),
    ("site.jps", ["--password-env", "ARCHIVE_PW"]),
    ("site.jps", ["--format", "jps2", "--password-env", "ARCHIVE_PW"]),
])
def test_pack_ls_verify_extract_round_trip(tmp_path, site, name, extra):
    env = {"ARCHIVE_PW": PASSWORD}
    password = ["--password-env", "ARCHIVE_PW"] if "--password-env" in extra else []
    archive = tmp_path / name
    packed = run("pack", site, "-o", archive, *extra, env=env)
    assert packed.exit_code == 0, packed.stderr
    assert packed.stdout.startswith(f"Wrote {archive}")

    listed = run("ls", archive, *password, env=env)
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert any(line.startswith("lrwxrwxrwx") and line.endswith("latest -> index.php") for line in lines)
    assert any(line.startswith("-rw-------      1300000 ") and line.endswith(" images/photo.jpg")
               for line in lines)
    assert lines[-1].endswith(" installation/sitepack-manifest.tsv.gz")

    verified = run("verify", archive, *password, env=env)
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"OK: {name}: 6 entries")
    assert "every byte of every entry was checked against the archive's manifest" in verified.stdout

    extracted = run("extract", archive, tmp_path / "out", *password, env=env)
    assert extracted.exit_code == 0, extracted.stderr
    assert "every file matched the archive's manifest" in extracted.stdout
    assert snapshot(tmp_path / "out") == snapshot(site)


def test_verify_fails_on_a_damaged_archive(tmp_path, site):
    archive = tmp_path / "site.jpa"
    assert run("pack", site, "-o", archive).exit_code == 0
    raw = bytearray(archive.read_bytes())
    raw[raw.index(noise(1_300_000)[:64]) + 7] ^= 0x10
    archive.write_bytes(bytes(raw))
    result = run("verify", archive, "-q")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == ("DAMAGED: images/photo.jpg: content differs from the "
                                             "manifest (SHA-256 mismatch)")
    assert result.stdout.splitlines()[1].startswith("FAILED: site.jpa is damaged (1 problem(s);")


def test_errors_are_one_line_with_exit_1(tmp_path, site):
    result = run("pack", site, "-o", tmp_path / "x.jpa", "--part-size", "32K")
    assert result.exit_code == 1
    assert result.stderr == ("error: part size 32768 bytes is too small: use at least 64 KiB "
                             "(65536 bytes), for example --part-size 100M\n")
    assert list(tmp_path.glob("x.*")) == []
    result = run("pack", site, "-o", tmp_path / "x.tar")
    assert result.exit_code == 1
    assert result.stderr == ("error: cannot tell the archive format from the name 'x.tar': end it "
                             "with .jpa, .jps or .zip, or give --format\n")
    result = run("extract", tmp_path / "missing.jpa", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'missing.jpa'} does not exist: check the archive path\n"


def test_pack_follows_the_one_archive_password_rule(tmp_path, site):
    """pack had its own wording of the rule; now the engine's: a plain format refuses a
    password, an encrypted one without a password (and no terminal) says how to give it."""
    result = run("pack", site, "-o", tmp_path / "x.jpa", "--password-env", "PW", env={"PW": "k"})
    assert result.exit_code == 1
    assert result.stderr == ("error: the jpa format is not encrypted: drop the archive password "
                             "or choose an encrypted format (jps or jps2)\n")
    result = run("pack", site, "-o", tmp_path / "x.jps")
    assert result.exit_code == 1
    assert result.stderr == ("error: the jps format encrypts the archive and needs an archive "
                             "password: give one with --password-env VAR or --password-file FILE\n")
    assert list(tmp_path.glob("x.*")) == []


def test_encrypted_archive_without_password_says_how_to_give_it(tmp_path, site):
    archive = tmp_path / "site.jps"
    assert run("pack", site, "-o", archive, "--password-env", "PW", env={"PW": PASSWORD}).exit_code == 0
    result = run("extract", archive, tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == ("error: this archive is encrypted: give its password with "
                             "--password-env VAR or --password-file FILE")
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []
    wrong = run("extract", archive, tmp_path / "out", "--password-env", "PW", env={"PW": "wrong"})
    assert wrong.exit_code == 1 and "wrong password" in wrong.stderr.lower()
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_unsafe_entry_is_named(tmp_path):
    from tests.archive.test_extract import craft_jpa
    from restorer.formats.base import EntryType
    archive = craft_jpa(tmp_path / "evil.jpa", [("../evil.php", EntryType.FILE, 0o100644, b"x")])
    result = run("extract", archive, tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == ("error: refusing entry '../evil.php': it contains "
                                              "'..' (it would write outside the target folder)")
    assert not (tmp_path / "evil.php").exists()


def test_pack_does_not_archive_its_own_output(tmp_path, site):
    archive = site / "site.zip"
    assert run("pack", site, "-o", archive, "--part-size", "64K").exit_code == 0
    listed = run("ls", archive)
    assert "site.z01" not in listed.stdout and "site.zip" not in listed.stdout


def test_non_utf8_names_are_skipped_with_a_warning(tmp_path, site):
    os.close(os.open(os.fsencode(site) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    result = run("pack", site, "-o", tmp_path / "site.zip", "-q")
    assert result.exit_code == 2
    assert "WARNING: 'caf\\udce9.txt' is not a UTF-8 name, which archives cannot hold; skipped" in result.stderr
    assert run("verify", tmp_path / "site.zip", "-q").exit_code == 0


@pytest.mark.parametrize("fmt", ["jpa", "jps2"])
def test_ls_and_verify_say_an_akeeba_archive_has_no_checksums(tmp_path, fmt):
    from packer.archive import open_writer

    archive = tmp_path / f"akeeba.{'jps' if fmt == 'jps2' else fmt}"
    with open_writer(fmt, archive, manifest=False, password=PASSWORD if fmt == "jps2" else None) as writer:
        writer.add_bytes("index.php", b"<?php echo 1;", mtime=1_600_000_000)
    env = {"ARCHIVE_PW": PASSWORD}
    listed = run("ls", archive, "--password-env", "ARCHIVE_PW", env=env)
    assert listed.exit_code == 0, listed.output
    assert "No checksums: this archive carries no sitepack manifest" in listed.output
    verified = run("verify", archive, "--password-env", "ARCHIVE_PW", env=env)
    assert verified.exit_code == 0, verified.output
    assert "no checksums to compare; verified the structure only" in verified.output


def test_ls_of_a_sitepack_archive_does_not_warn(tmp_path, site):
    archive = tmp_path / "site.jpa"
    assert run("pack", site, "-o", archive).exit_code == 0
    listed = run("ls", archive)
    assert "installation/sitepack-manifest.tsv.gz" in listed.output
    assert "No checksums" not in listed.output
