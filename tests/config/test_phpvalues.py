"""PHP literals: sitepack's reader must agree with real PHP, and PHP must read back what it writes."""

from __future__ import annotations

import base64
import json
import math
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.php import php_json, run_php
from restorer.config.phpvalues import (PhpParseError, UnsupportedValue, parse_value, php_literal, tokenize)

# Expressions as they appear in configuration files; PHP evaluates each and must agree.
EXPRESSIONS = [
    r"'plain'", r"'it\'s'", r"'back\\slash'", r"'not an escape: \n \t \x41'", r"'trailing\\'",
    r"'$dollar {$x}'", "'multi\nline'", r'"double \"quoted\""', r'"tab\there"', r'"nl\nnl\r\n"',
    r'"\x41\x4a\x4A\x7"', r'"\101\60\0end"', r'"\400"', r'"\u{1F600} \u{e9}"', r'"\$x and \{"',
    r'"lonely \q backslash \\"', r'"$ alone, { alone, {$ no}"'.replace("{$ no}", "} x"), r'"\e\v\f"',
    "'Grüße 日本 🚀'", r'"\xc3\xa9"', r'"a$"', r'"$1"',
    "0", "42", "-7", "+3", "0x1F", "0X1f", "0b101", "017", "0o17", "1_000_000", "0x7FFF_FFFF",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", ".5", "5.",
    "1e3", "1.5E-3", "-0.0", "1_0.2_5", "1e308",
    "true", "TRUE", "False", "null", "NULL", r"\true",
    "array()", "[]", "array(1, 2, 3)", "[1, 2, 3,]", "array('a' => 1, 'b' => array(2))",
    "array('0' => 'all')", "array('1' => 'x')", "array(5 => 'a', 'b', '7' => 'c', 'd')",
    "array('01' => 1, '-5' => 2, '-0' => 3, true => 4, null => 5, 1.9 => 6)",
    "array(-5 => 'a', 'b')", "[[[]]]", "array('k' => 1, 'k' => 2)",
    "'a' . 'b'", "'n' . 5 . true . null . false", "('x')", "-(5)", "- -5",
    "<<<EOT\nheredoc $ \\t \\x41 \"q\"\nEOT", "<<<'EOT'\nnowdoc \\t $x {$y}\nEOT",
    "<<<\"EOT\"\n  indented\n    more\n  EOT", "<<<EOT\nEOT",
]


def _php_view(value):
    """What PHP's json_encode shows for a Python value (keys cast, sequential arrays as lists)."""
    if isinstance(value, (list, tuple)):
        return [_php_view(v) for v in value]
    if isinstance(value, dict):
        cast = {}
        for key, item in value.items():
            if isinstance(key, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", key, re.ASCII) and key != "-0" \
                    and -2**63 <= int(key) < 2**63:
                key = int(key)
            cast[key] = _php_view(item)
        if list(cast) == list(range(len(cast))):
            return list(cast.values())
        return {str(k): v for k, v in cast.items()}
    return value


def _php_eval_all(expressions: list[str]) -> list:
    body = ",".join(f"'{i}' => ({expr})" for i, expr in enumerate(expressions))
    result = php_json("$v = array(" + body + ");"
                      "echo json_encode(array_values($v), JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION"
                      " | JSON_INVALID_UTF8_SUBSTITUTE);")
    return result


def test_reader_agrees_with_php(php):
    expected = _php_eval_all(EXPRESSIONS)
    for expression, php_value in zip(EXPRESSIONS, expected):
        ours = json.loads(json.dumps(_php_view(parse_value(expression)), ensure_ascii=False))
        assert ours == php_value, expression
        assert type(ours) is type(php_value), expression


def test_int_overflow_and_float_kinds_match_php(php):
    assert parse_value("9223372036854775808") == 9.223372036854776e18
    assert isinstance(parse_value("-9223372036854775808"), float)  # PHP: -(float), not PHP_INT_MIN
    assert math.isinf(parse_value("INF")) and math.isnan(parse_value("NAN"))
    assert run_php("var_export(" + php_literal(float("nan")) + ");") == "NAN"
    assert run_php("var_export(" + php_literal(-float("inf")) + ");") == "-INF"
    assert run_php("var_export(" + php_literal(-2**63) + ");") == "-9223372036854775807-1"


@pytest.mark.parametrize("source, message", [
    ("FOO", "FOO is a constant or function call"),
    ("$x", "$x is a variable"),
    ('"hello $name"', "interpolates a variable"),
    ('"hello {$a[1]}"', "interpolates an expression"),
    ("getenv('DB_PASS')", "getenv is a constant or function call"),
    ("__DIR__ . '/x'", "__DIR__ is a constant"),
])
def test_unsupported_expressions_are_named(source, message):
    with pytest.raises(UnsupportedValue, match="line 1: .*" + message.replace("$", r"\$").replace("{", r"\{")
                       .replace("[", r"\[")):
        parse_value(source)


@pytest.mark.parametrize("source, message", [
    ("'never closed", "string is never closed"),
    ("/* open", "comment is never closed"),
    ("array(1, 2", "expected ',' or '\\)'"),
    ("<<<EOT\nno end", "heredoc/nowdoc EOT is never closed"),
    ("`ls`", "backtick shell commands"),
    ("089", "invalid octal number 089"),
])
def test_invalid_syntax_is_a_clear_error(source, message):
    with pytest.raises(PhpParseError, match=message):
        parse_value(source)


def test_tokens_cover_every_character():
    text = "<html>\n<?php # c\n// d\n/* e */ $a = 'x' . \"y\"; ?>\ntail <?= 1 ?>"
    assert "".join(token.text for token in tokenize(text)) == text


# --- the writer, judged by real PHP ---------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_nasty = st.sampled_from(["'", '"', "\\", "$", "{", "}", "{$x}", "$x", "\\'", "\n", "\r\n", "\x00", "\t",
                          "?>", "<?php", "😀", "é", "\\n", "\\x41", "\u2028", "\x7f", "\x1b", "'\\", "\\\\'"])
_strings = st.one_of(_text, st.lists(st.one_of(_nasty, _text), max_size=8).map("".join))
_scalars = st.one_of(_strings, st.integers(min_value=-2**63, max_value=2**63 - 1), st.booleans(), st.none(),
                     st.floats(allow_nan=False, allow_infinity=False))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(_strings, st.integers(min_value=-1000, max_value=1000)), inner, max_size=4)),
    max_leaves=10)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_values, min_size=1, max_size=40))
def test_php_reads_back_what_we_write(php, values):
    literals = [php_literal(v) for v in values]
    program = "<?php\nreturn array(\n" + "".join(f"  {lit},\n" for lit in literals) + ");\n"
    encoded = base64.b64encode(program.encode("utf-8")).decode()
    back = php_json(f"$f = tempnam(sys_get_temp_dir(), 'lit'); file_put_contents($f, base64_decode('{encoded}'));"
                    "$v = require $f; unlink($f);"
                    "echo json_encode($v, JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);")
    assert back == json.loads(json.dumps([_php_view(v) for v in values], ensure_ascii=False))
    # and our own reader agrees with PHP on what we wrote
    for literal, value in zip(literals, values):
        assert json.dumps(_php_view(parse_value(literal))) == json.dumps(_php_view(value))


_ESCAPE_FRAGMENTS = ["\\n", "\\t", "\\r", "\\v", "\\e", "\\f", "\\x41", "\\x4", "\\xg", "\\101", "\\1", "\\400",
                     "\\8", "\\u{41}", "\\u{1F600}", "\\\\", '\\"', "\\$", "\\q", "\\{", "\\'", "$ ", "$", "}",
                     "a", "F", "0", "7", "é", "😀", " ", "'"]


def _ours_or_none(expression: str):
    try:
        return parse_value(expression).encode("utf-8", errors="surrogateescape").hex()
    except PhpParseError:
        return None


@settings(max_examples=15, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_ESCAPE_FRAGMENTS), max_size=12).map("".join), min_size=1, max_size=40))
def test_double_quoted_escapes_read_as_php_does(php, bodies):
    """Same bytes as PHP, and a refusal exactly where PHP would interpolate (warning) or fail to parse."""
    expressions = [f'"{body}"' for body in bodies] + [f"<<<EOT\n{body}\nEOT" for body in bodies]
    encoded = base64.b64encode(json.dumps(expressions).encode()).decode()
    php_values = php_json(
        "set_error_handler(function ($no, $message) { throw new ErrorException($message); });"
        f"$out = array(); foreach (json_decode(base64_decode('{encoded}')) as $e) {{"
        " try { $out[] = bin2hex(eval('return ' . $e . \"\\n;\")); } catch (Throwable $t) { $out[] = null; } }"
        "echo json_encode($out);")
    assert [_ours_or_none(e) for e in expressions] == php_values


_NUMBER_FRAGMENTS = ["0", "1", "7", "8", "9", "00", "_", ".", "e", "E", "e+", "e-", "x", "X", "b", "o", "O",
                     "a", "f", "F", "9223372036854775807", "9223372036854775808", "0x7fffffffffffffff", "1"]


def _ours_as_json(expression: str):
    try:
        value = parse_value(expression)
    except PhpParseError:
        return None
    if isinstance(value, float) and math.isinf(value):
        return "INF" if value > 0 else "-INF"     # as PHP's (string) cast shows it
    return json.loads(json.dumps(value))


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "-", "+"]),
                          st.lists(st.sampled_from(_NUMBER_FRAGMENTS), min_size=1, max_size=6).map("".join))
                .map("".join), min_size=1, max_size=60))
@example(expressions=["0x7fffffffffffffffe+0", "1e+0", "-0x1f", "9223372036854775808"])
def test_numbers_read_as_php_does(php, expressions):
    """A number literal reads exactly as PHP reads it; where PHP's tokenizer sees several
    tokens (``0x7fe+0`` is hex 0x7fe plus 0: arithmetic, which configuration values never
    need and the reader does not evaluate) the reader may refuse instead."""
    encoded = base64.b64encode(json.dumps(expressions).encode()).decode()
    php_values = php_json(
        "set_error_handler(function ($no, $message) { throw new ErrorException($message); });"
        f"$out = array(); foreach (json_decode(base64_decode('{encoded}')) as $e) {{"
        " $tokens = array_filter(token_get_all('<?php ' . ltrim($e, '+-')), 'is_array');"
        " $single = count($tokens) == 2;"
        " try { $v = eval('return ' . $e . ';'); $out[] = array(is_float($v) && is_infinite($v) ? (string) $v : $v, $single); }"
        " catch (Throwable $t) { $out[] = array(null, $single); } }"
        "echo json_encode($out, JSON_PRESERVE_ZERO_FRACTION);")
    for expression, (php_value, single_literal) in zip(expressions, php_values):
        ours = _ours_as_json(expression)
        if single_literal:
            assert ours == php_value, expression
        else:
            assert ours in (None, php_value), expression
