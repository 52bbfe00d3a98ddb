"""configuration.php read without PHP and rewritten so that real PHP sees exactly the new values."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.demosite import joomla_config_text, joomla_config_values
from harness.mariadb import DbParams
from harness.php import php_json, read_joomla_config as php_read
from restorer.config.joomla import (new_secret, parse_joomla_config, read_joomla_config,
                                    rewrite_joomla_config, write_config_atomically)
from restorer.errors import ConfigError

SITE = Path("/var/www/site")


def _demo_text() -> tuple[str, dict]:
    values = joomla_config_values(SITE, DbParams("127.0.0.1", 3307, "joomla", "s3cr'et\"Pa\\ss$word{$x}\\n;#%",
                                                 "joomla_db"),
                                  prefix="jos_", live_site="https://www.example.com/joomla", secret="AbCdEfGh12345678")
    return joomla_config_text(values), values


def _php_view(tmp_path, text: str) -> dict:
    path = tmp_path / f"configuration-{os.urandom(4).hex()}.php"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return php_read(path)


def _json_like(values: dict) -> dict:
    return {k: (list(v.values()) if isinstance(v, dict) and list(v) == [str(i) for i in range(len(v))]
                else list(v) if isinstance(v, list) else v) for k, v in values.items()}


def test_reads_the_demo_configuration_as_php_does(tmp_path, php):
    text, _ = _demo_text()
    path = tmp_path / "configuration.php"
    path.write_text(text, encoding="utf-8")
    config = read_joomla_config(path)
    assert config.values == {**php_read(path), "log_priorities": ["all"]}
    assert config.values["password"] == "s3cr'et\"Pa\\ss$word{$x}\\n;#%"
    assert config.problems == [] and config.includes == [] and config.missing == []


def test_rewrite_changes_only_the_asked_values(tmp_path, php):
    text, _ = _demo_text()
    before = _php_view(tmp_path, text)
    changes = {
        "host": "db.internal:3306", "user": "new'user", "password": "p\\'a\"s$s{$w}\n\x00end\\",
        "db": "ünïcode_db", "dbprefix": "x9_", "live_site": "https://new.example.org/site",
        "tmp_path": "/srv/new site/tmp", "log_path": "C:\\logs\\joomla\\", "sitename": "Neue Seite 🚀 'quoted'",
        "secret": new_secret(), "force_ssl": 2, "offline": True, "cookie_domain": "",
        "brand_new": "added $value", "another_new": ["a", {"k": None}],
    }
    rewritten = rewrite_joomla_config(text, changes)
    after = _php_view(tmp_path, rewritten)
    expected = {**before, **{k: v for k, v in changes.items()}}
    expected["another_new"] = ["a", {"k": None}]
    assert after == expected
    # every line of a property we did not change is byte-identical, in the same order
    changed = {f"\tpublic ${name} =" for name in changes}
    kept_before = [line for line in text.splitlines(True) if not any(line.startswith(c) for c in changed)]
    kept_after = [line for line in rewritten.splitlines(True) if not any(line.startswith(c) for c in changed)]
    assert kept_after == kept_before
    assert rewritten.index("$brand_new") < rewritten.rindex("}")
    assert "\tpublic $brand_new = 'added $value';\n" in rewritten


def test_rewrite_keeps_a_hand_edited_file_intact(tmp_path, php):
    text = ("<?php\r\n// hand-edited by the owner\r\n/* keep\r\n   me */\r\nclass JConfig\r\n{\r\n"
            "    var $host = \"localhost\"; # old style\r\n"
            "    public $user = 'u', $db = 'd';\r\n"
            "    public $password;\r\n"
            "    public static $counter = 1;\r\n"
            "    private $hidden = 'x';\r\n"
            "    public string $typed = <<<EOT\r\n    heredoc\r\n    EOT;\r\n"
            "    public $list = [1, 2, 'three' => [true, null]];\r\n"
            "}\r\n")
    assert _php_view(tmp_path, text)["typed"] == "heredoc"
    rewritten = rewrite_joomla_config(text, {"host": "h'2", "db": "d2", "password": "pw$", "sitename": "S"})
    assert _php_view(tmp_path, rewritten) == {"host": "h'2", "user": "u", "db": "d2", "password": "pw$",
                                              "typed": "heredoc", "list": {"0": 1, "1": 2, "three": [True, None]},
                                              "sitename": "S"}
    assert rewritten.startswith("<?php\r\n// hand-edited by the owner\r\n/* keep\r\n   me */\r\n")
    assert "    var $host = 'h\\'2'; # old style\r\n" in rewritten
    assert "    public $user = 'u', $db = 'd2';\r\n" in rewritten
    assert "    public $password = 'pw$';\r\n" in rewritten
    assert rewritten.endswith("    public $sitename = 'S';\r\n}\r\n")
    with pytest.raises(ConfigError, match="hidden as private|declares hidden as private"):
        rewrite_joomla_config(text, {"hidden": "y"})


_awkward = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30) | st.lists(
    st.sampled_from(["'", '"', "\\", "$", "{$", "}", "\n", "\x00", "😀", "ü", "\\'", "?>", "\\n"]),
    max_size=10).map("".join)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["host", "user", "password", "db", "live_site", "sitename",
                                        "MetaDesc", "fromname", "tmp_path", "new_one", "new_two"]),
                       _awkward, min_size=1))
def test_php_reads_back_random_values_exactly(tmp_path, php, changes):
    text, _ = _demo_text()
    after = _php_view(tmp_path, rewrite_joomla_config(text, changes))
    for name, value in changes.items():
        assert after[name] == value, name


def test_include_trick_is_reported_with_the_values_set_there(tmp_path):
    path = tmp_path / "configuration.php"
    path.write_text("<?php\nrequire_once '/home/owner/private/secret.php';\nclass JConfig {\n"
                    "\tpublic $dbtype = 'mysqli';\n\tpublic $dbprefix = 'jos_';\n\tpublic $live_site = '';\n"
                    "\tpublic $sitename = 'S';\n\tpublic $secret = 'x';\n\tpublic $mailfrom = 'a@b.c';\n"
                    "\tpublic $fromname = 'A';\n\tpublic $tmp_path = '/tmp';\n\tpublic $log_path = '/logs';\n}\n")
    config = read_joomla_config(path)
    assert [i.statement for i in config.includes] == ["require_once '/home/owner/private/secret.php';"]
    assert config.includes[0].target == "/home/owner/private/secret.php"
    assert config.problems == [
        "configuration.php includes /home/owner/private/secret.php: the restore wizard will have blanks "
        "for values set there (host, user, password, db)",
        "these values are missing from configuration.php: host, user, password, db; the restore wizard "
        "will have blanks for them"]


def test_readable_include_gives_its_values_to_the_backup(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    (private / "configuration.php").write_text(
        "<?php\nclass JConfig {\n\tpublic $host = 'localhost:3307';\n\tpublic $user = 'u';\n"
        "\tpublic $password = 'p';\n\tpublic $db = 'd';\n}\n")
    site = tmp_path / "site"
    site.mkdir()
    (site / "configuration.php").write_text("<?php\nrequire __DIR__ . '/../private/configuration.php';\n")
    config = read_joomla_config(site / "configuration.php")
    assert config.values == {}
    assert config.effective_values == {"host": "localhost:3307", "user": "u", "password": "p", "db": "d"}
    assert config.problems[0] == (f"configuration.php includes {site}/../private/configuration.php: the restore "
                                  "wizard will have blanks for values set there (host, user, password, db)")


def test_values_set_in_code_or_by_expressions_are_reported(tmp_path):
    config = parse_joomla_config(
        "<?php\nclass JConfig {\n public $host = 'h'; public $user = 'u'; public $db = 'd';\n"
        " public $password = MY_PASSWORD;\n public $dbtype = 'mysqli'; public $dbprefix = 'p_';\n"
        " public $live_site = ''; public $sitename = ''; public $secret = ''; public $mailfrom = '';\n"
        " public $fromname = ''; public $tmp_path = JPATH_ROOT . '/tmp'; public $log_path = '';\n"
        " public function __construct() { $this->password = getenv('DB_PASSWORD'); }\n}\n")
    assert config.problems == [
        "configuration.php sets $password with an expression sitepack does not evaluate (line 4: MY_PASSWORD is "
        "a constant or function call; sitepack reads literal values only): the restore wizard will have a blank "
        "for it",
        "configuration.php sets $tmp_path with an expression sitepack does not evaluate (line 7: JPATH_ROOT is a "
        "constant or function call; sitepack reads literal values only): the restore wizard will have a blank "
        "for it",
        "configuration.php sets password in code (a method of JConfig): the restore wizard will have blanks for "
        "values set there",
        "these values are missing from configuration.php: password, tmp_path; the restore wizard will have "
        "blanks for them"]


@pytest.mark.parametrize("text, message", [
    ("<?php\nclass JConfig {\n public $host = 'x'\n public $user = 'y';\n}\n",
     r"configuration.php is not valid PHP \(line 4: expected ';' after the property, found 'public'\)"),
    ("<?php\nclass JConfig {\n public $host = 'unterminated;\n}\n",
     r"configuration.php is not valid PHP \(line 3: a '-quoted string is never closed\)"),
    ("<?php\n$config = array();\n", "does not declare class JConfig"),
    ("<?php\nclass JConfig {\n public $a = 1;\n public $a = 2;\n}\n", r"declares \$a twice"),
])
def test_invalid_files_give_clear_errors(tmp_path, text, message):
    path = tmp_path / "configuration.php"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_joomla_config(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read .*/configuration.php: No such file or directory"):
        read_joomla_config(tmp_path / "configuration.php")


def test_write_atomically_keeps_permissions_and_leaves_no_temp(tmp_path, php):
    path = tmp_path / "configuration.php"
    path.write_text("<?php class JConfig { public $a = 1; }\n")
    os.chmod(path, 0o640)
    write_config_atomically(path, rewrite_joomla_config(path.read_text(), {"a": "ü'2"}))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert php_read(path) == {"a": "ü'2"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configuration.php"]


def test_write_atomically_reports_an_unwritable_place(tmp_path):
    target = tmp_path / "no-such-dir" / "configuration.php"
    with pytest.raises(ConfigError, match=r"cannot write .*configuration.php: No such file or directory; "
                                          r"save the configuration shown as .* yourself"):
        write_config_atomically(target, "<?php\n")


def test_new_secret_is_random_alphanumeric():
    first, second = new_secret(), new_secret()
    assert first != second and len(first) >= 16 and first.isalnum() and first.isascii()


def test_bom_close_tag_and_comments_inside_values(tmp_path, php):
    text = ("\ufeff<?php\nclass JConfig {\n\tpublic $host = /* old: db1 */ 'db2'; // moved\n"
            "\tpublic $list = array(\n\t\t'a', # first\n\t\t'b',\n\t);\n}\n?>\n")
    config = parse_joomla_config(text)
    assert config.values == {"host": "db2", "list": ["a", "b"]}
    rewritten = rewrite_joomla_config(text, {"host": "db3", "list": ["c"]})
    assert rewritten == ("\ufeff<?php\nclass JConfig {\n\tpublic $host = /* old: db1 */ 'db3'; // moved\n"
                         "\tpublic $list = array('c');\n}\n?>\n")
    path = tmp_path / "configuration.php"
    path.write_text(rewritten, encoding="utf-8")
    # PHP prints the BOM and the text after ?>; catch that output so only the values remain.
    assert php_json(f"ob_start(); require {json.dumps(str(path))}; ob_end_clean();"
                    "echo json_encode(get_object_vars(new JConfig()));") == {"host": "db3", "list": ["c"]}


_gap = st.lists(st.sampled_from([" ", "\n", "\t", "\r\n", "/* c */", "// c\n", "# c\n", "/** doc\n */"]),
                min_size=1, max_size=3).map("".join)
_modifier = st.sampled_from(["public", "var", "public static", "private", "protected", "public mixed",
                             "readonly public mixed"])
_plain_values = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6), st.booleans(), st.none(),
                          st.lists(st.integers(0, 9), max_size=3))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_modifier, _plain_values, _gap, _gap, st.booleans()), min_size=1, max_size=25))
def test_reader_sees_what_php_sees_in_any_layout(tmp_path, php, declarations):
    """Random layouts of JConfig (comments anywhere, var/static/private/typed, grouped declarations)."""
    from restorer.config.phpvalues import php_literal
    parts = ["<?php", "\nclass JConfig", declarations[0][2], "{"]
    for index, (modifier, value, gap1, gap2, grouped) in enumerate(declarations):
        if "readonly" in modifier:
            continue   # readonly properties need a constructor; PHP refuses defaults on them
        parts += [gap1, modifier, " ", f"$p{index}", gap2, "=", gap1, php_literal(value)]
        if grouped and "static" not in modifier:
            parts += [",", gap2, f"$q{index}", " = ", php_literal(value)]
        parts += [gap2, ";"]
    parts += ["\n}\n"]
    text = "".join(parts)
    php_sees = _php_view(tmp_path, text) or {}   # PHP's JSON shows an empty object as []
    assert json.loads(json.dumps(parse_joomla_config(text).values)) == php_sees


def test_non_utf8_and_crlf_bytes_survive_a_rewrite(tmp_path, php):
    """An old Latin-1 configuration with Windows line ends: only the changed value's bytes change."""
    from restorer.config.phpfile import read_php_file
    original = b"<?php\r\nclass JConfig {\r\n\tpublic $sitename = 'Caf\xe9 M\xfcller';\r\n\tpublic $db = 'old';\r\n}\r\n"
    path = tmp_path / "configuration.php"
    path.write_bytes(original)
    write_config_atomically(path, rewrite_joomla_config(read_php_file(path), {"db": "new", "user": "u"}))
    assert path.read_bytes() == (b"<?php\r\nclass JConfig {\r\n\tpublic $sitename = 'Caf\xe9 M\xfcller';\r\n"
                                 b"\tpublic $db = 'new';\r\n\tpublic $user = 'u';\r\n}\r\n")
    sitename = php_json(f"require {json.dumps(str(path))}; echo json_encode(bin2hex((new JConfig)->sitename));")
    assert bytes.fromhex(sitename) == b"Caf\xe9 M\xfcller"
