"""The installer password files: sitepack's scrypt record and Akeeba's password.php."""

import hashlib
import json

import pytest

from restorer.errors import SitepackError
from restorer.restore.install_password import load, password_file_text


def test_sitepack_record_holds_no_password_and_verifies_only_the_right_one(tmp_path):
    text = password_file_text("pä$$ 'word'")
    assert "pä$$" not in text
    record = json.loads(text)
    assert record["algorithm"] == "scrypt" and record["n"] >= 2 ** 14
    (tmp_path / "password.json").write_text(text)
    check = load(tmp_path)
    assert check.kind == "sitepack"
    assert check.verify("pä$$ 'word'") is True
    assert check.verify("pä$$ 'word' ") is False
    assert check.verify("") is False


def test_two_records_of_one_password_differ_by_their_salt():
    assert json.loads(password_file_text("x"))["salt"] != json.loads(password_file_text("x"))["salt"]


def test_akeeba_password_php_is_read_as_text_and_checked(tmp_path):
    digest = hashlib.md5(b"angie" + b"s4lt").hexdigest()
    (tmp_path / "password.php").write_text(f"<?php\ndefine('AKEEBA_PASSHASH', '{digest}:s4lt');\n")
    check = load(tmp_path)
    assert check.kind == "akeeba"
    assert check.verify("angie") is True
    assert check.verify("Angie") is False


def test_no_file_means_no_password_and_a_damaged_file_is_an_error(tmp_path):
    assert load(tmp_path) is None
    (tmp_path / "password.json").write_text('{"algorithm": "scrypt"}')
    with pytest.raises(SitepackError, match="damaged"):
        load(tmp_path)


def test_empty_password_is_refused():
    with pytest.raises(SitepackError, match="empty"):
        password_file_text("")
