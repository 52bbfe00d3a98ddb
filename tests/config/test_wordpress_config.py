"""wp-config.php read without PHP and rewritten so that real PHP sees exactly the new values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.demosite import wordpress_config_text
from harness.mariadb import DbParams
from harness.php import php_json
from restorer.config.wordpress import SALT_DEFINES, parse_wp_config, read_wp_config, rewrite_wp_config
from restorer.errors import ConfigError

PASSWORD = "pa'ss\"w\\ord$1{$x}"
NAMES = ["DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_CHARSET", "DB_COLLATE", "WP_HOME", "WP_SITEURL",
         *SALT_DEFINES]


def _sample() -> str:
    return wordpress_config_text(DbParams("127.0.0.1", 3307, "wp_user", PASSWORD, "wordpress"), prefix="wp_")


def _php_view(folder: Path, text: str) -> dict:
    """What WordPress would see: the constants and $table_prefix after loading wp-config.php."""
    folder.mkdir(exist_ok=True)
    (folder / "wp-config.php").write_text(text, encoding="utf-8")
    (folder / "wp-settings.php").write_text("<?php\n")   # WordPress itself is not needed
    names = ", ".join(f"'{n}'" for n in NAMES)
    return php_json(f"require {json.dumps(str(folder / 'wp-config.php'))};"
                    f"$out = array(); foreach (array({names}) as $n) {{ if (defined($n)) $out[$n] = constant($n); }}"
                    "$out['table_prefix'] = $table_prefix;"
                    "echo json_encode($out, JSON_UNESCAPED_UNICODE);")


def test_reads_what_php_sees(tmp_path, php):
    path = tmp_path / "wp-config.php"
    path.write_text(_sample())
    config = read_wp_config(path)
    expected = _php_view(tmp_path / "php", _sample())
    assert {k: v for k, v in config.values.items() if k in expected} == expected
    assert config.values["DB_PASSWORD"] == PASSWORD and config.values["table_prefix"] == "wp_"
    assert config.values["DB_HOST"] == "127.0.0.1:3307"
    assert len(config.salts) == 8
    assert config.problems == [] and config.includes == []   # wp-settings.php is WordPress' own


def test_rewrite_changes_values_and_salts_only(tmp_path, php):
    text = _sample()
    changes = {"DB_NAME": "new_db", "DB_USER": "new'user", "DB_PASSWORD": "n\\e\"w$p{$w}\t😀",
               "DB_HOST": "db.internal:3306", "table_prefix": "nw_", "WP_HOME": "https://new.example.org",
               "WP_CACHE": True}
    rewritten = rewrite_wp_config(text, changes)
    before, after = _php_view(tmp_path / "a", text), _php_view(tmp_path / "b", rewritten)
    for key, value in changes.items():
        if key != "WP_CACHE":
            assert after[key] == value
    assert parse_wp_config(rewritten).values["WP_CACHE"] is True
    for salt in SALT_DEFINES:
        assert after[salt] != before[salt] and len(after[salt]) == 64
    assert len({after[s] for s in SALT_DEFINES}) == 8
    assert after["DB_CHARSET"] == before["DB_CHARSET"] and after["WP_SITEURL"] == before["WP_SITEURL"]
    changed = ("define( 'DB_", "define( 'AUTH", "define( 'SECURE", "define( 'LOGGED", "define( 'NONCE",
               "$table_prefix", "define( 'WP_HOME'", "define( 'WP_CACHE'")
    kept = lambda t: [line for line in t.splitlines(True) if not line.startswith(changed)]  # noqa: E731
    assert kept(rewritten) == kept(text)
    assert rewritten.index("define( 'WP_CACHE', true );") < rewritten.index("/* That's all, stop editing!")


def test_rewrite_without_salt_refresh_keeps_them(tmp_path):
    text = _sample()
    rewritten = rewrite_wp_config(text, {"DB_NAME": "x"}, refresh_salts=False)
    assert parse_wp_config(rewritten).salts == parse_wp_config(text).salts


def test_include_and_missing_values_are_reported(tmp_path):
    text = ("<?php\nrequire '/home/owner/wp-secrets.php';\ndefine('DB_NAME', 'wp');\n$table_prefix = 'wp_';\n"
            "require_once ABSPATH . 'wp-settings.php';\n")
    config = parse_wp_config(text)
    assert config.problems == [
        "wp-config.php includes /home/owner/wp-secrets.php: the restore wizard will have blanks for values set "
        "there (DB_USER, DB_PASSWORD, DB_HOST)",
        "these values are missing from wp-config.php: DB_USER, DB_PASSWORD, DB_HOST; the restore wizard will "
        "have blanks for them"]


def test_environment_values_are_reported_not_guessed():
    config = parse_wp_config("<?php\ndefine('DB_NAME', getenv('WP_DB'));\ndefine('DB_USER', 'u');\n"
                             "define('DB_PASSWORD', 'p');\ndefine('DB_HOST', 'h');\n$table_prefix = 'wp_';\n")
    assert "DB_NAME" not in config.values
    assert config.problems[0].startswith("wp-config.php sets DB_NAME with an expression sitepack does not "
                                         "evaluate (line 2: getenv is a constant or function call")


def test_not_a_wordpress_configuration(tmp_path):
    path = tmp_path / "wp-config.php"
    path.write_text("<?php\necho 'hello';\n")
    with pytest.raises(ConfigError, match="defines neither DB_NAME nor DB_HOST nor \\$table_prefix"):
        read_wp_config(path)


def test_arithmetic_in_a_define_is_reported():
    config = parse_wp_config("<?php\ndefine('DB_NAME', 'a');\ndefine('DB_USER', 'u');\ndefine('DB_PASSWORD', 'p');\n"
                             "define('DB_HOST', 'h');\n$table_prefix = 'wp_';\ndefine('WP_HOME', 'x' . 1 + 2);\n")
    assert config.values["DB_NAME"] == "a" and "WP_HOME" not in config.values
    assert config.problems == ["wp-config.php sets WP_HOME with an expression sitepack does not evaluate (line 7: an "
                               "operator other than '.' (string concatenation)): the restore wizard will have a blank "
                               "for it"]
