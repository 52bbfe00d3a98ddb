import pytest
from click.testing import CliRunner

from packer.cli import main
from packer.cli.common import resolve_secret
from packer.profiles import parse_size
from restorer.errors import SitepackError


@pytest.mark.parametrize("text,expected", [
    ("65536", 65536), ("64K", 65536), ("64KiB", 65536), ("2m", 2 * 1024 ** 2),
    ("1.5G", int(1.5 * 1024 ** 3)), ("20 MB", 20 * 1024 ** 2)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


def test_parse_size_rejects_garbage_with_an_example():
    with pytest.raises(SitepackError, match="write it like 65536, 64K"):
        parse_size("lots")


def test_secret_from_env_and_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SP_KEY", "s3cr'et$")
    assert resolve_secret("archive password", "SP_KEY", None, required=True) == "s3cr'et$"
    f = tmp_path / "pw"
    f.write_text("from-file\nignored\n")
    assert resolve_secret("archive password", None, f, required=True) == "from-file"


def test_secret_errors_name_the_source(monkeypatch):
    monkeypatch.delenv("SP_NOPE", raising=False)
    with pytest.raises(SitepackError, match="environment variable SP_NOPE is not set"):
        resolve_secret("archive password", "SP_NOPE", None, required=True)


def test_secret_required_without_terminal_says_how(monkeypatch):
    runner = CliRunner()
    with runner.isolation():  # stdin is not a terminal here
        with pytest.raises(SitepackError, match="--…-env VAR or --…-file FILE"):
            resolve_secret("archive password", None, None, required=True)


def test_secret_not_required_is_none():
    assert resolve_secret("installer password", None, None, required=False) is None


def test_version_and_help():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "sitepack" in result.output
    assert "Exit codes: 0 ok, 1 failed, 2 done with warnings" in CliRunner().invoke(main, ["--help"]).output
