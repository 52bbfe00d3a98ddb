"""restorer.replace.serialized against real PHP: byte-identical round trips, never laxer than PHP."""

from __future__ import annotations

import base64
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.php import run_php
from restorer.replace import serialized

# PHP side of the property tests: rebuilds each value from a tagged tree and prints
# base64(serialize(value)) per line. Strings travel base64-encoded so every byte counts.
_BUILD = r"""
enum Suit: string { case Hearts = 'H'; case Spades = 'S'; }
class Keeper { public $open; protected $guarded; private $hidden;
  function __construct($a, $b, $c) { $this->open = $a; $this->guarded = $b; $this->hidden = $c; } }
function build($n) {
  switch ($n[0]) {
    case 's': return base64_decode($n[1]);
    case 'i': return (int)$n[1];
    case 'd': return (float)$n[1];
    case 'inf': return $n[1] ? INF : -INF;
    case 'nan': return NAN;
    case 'b': return (bool)$n[1];
    case 'n': return null;
    case 'a': $a = []; foreach ($n[1] as $kv) { $k = $kv[0][0] === 'i' ? (int)$kv[0][1] : base64_decode($kv[0][1]); $a[$k] = build($kv[1]); } return $a;
    case 'o': $o = new stdClass; foreach ($n[1] as $kv) { $k = base64_decode($kv[0]); $o->$k = build($kv[1]); } return $o;
    case 'k': return new Keeper(build($n[1]), build($n[2]), build($n[3]));
    case 'e': return $n[1] ? Suit::Hearts : Suit::Spades;
    case 'ref': $a = [build($n[1])]; $a[1] = &$a[0]; return $a;
    case 'same': $o = new stdClass; $o->v = build($n[1]); return [$o, $o];
    case 'ao': return new ArrayObject(build($n[1]));
  }
}
$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as $tree) { $out[] = base64_encode(serialize(build($tree))); }
echo implode("\n", $out);
"""

_b64 = lambda data: base64.b64encode(data).decode("ascii")  # noqa: E731

_text_bytes = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b'";}', b's:5:"x";', b"\x00*\x00", "é€😀".encode(), b"a:1:{"]),
)
_float_node = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: ["d", repr(f)]),
    st.booleans().map(lambda b: ["inf", int(b)]),
    st.just(["nan"]),
)
_scalar = st.one_of(
    _text_bytes.map(lambda b: ["s", _b64(b)]),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1).map(lambda i: ["i", str(i)]),
    _float_node,
    st.booleans().map(lambda b: ["b", int(b)]),
    st.just(["n"]),
)
_leaf = st.one_of(_scalar, st.booleans().map(lambda b: ["e", int(b)]))


def _nodes(children, *, with_semantics: bool = True):
    key = st.one_of(st.integers(-5, 1000).map(lambda i: ["i", str(i)]),
                    _text_bytes.filter(lambda b: not b.isdigit()).map(lambda b: ["s", _b64(b)]))
    pairs = st.lists(st.tuples(key, children), max_size=5)
    props = st.lists(st.tuples(st.text("abcxyz_", min_size=1, max_size=6).map(
        lambda s: _b64(s.encode())), children), max_size=4)
    containers = [pairs.map(lambda kv: ["a", [list(p) for p in kv]]),
                  props.map(lambda kv: ["o", [list(p) for p in kv]])]
    if not with_semantics:
        return st.one_of(*containers)
    return st.one_of(
        *containers,
        st.tuples(children, children, children).map(lambda t: ["k", *t]),
        children.map(lambda c: ["ref", c]),
        children.map(lambda c: ["same", c]),
        pairs.map(lambda kv: ["ao", ["a", [list(p) for p in kv]]]),
    )


php_values = st.recursive(_leaf, _nodes, max_leaves=25)
# Arrays, stdClass objects and scalars only: values whose validity PHP decides by syntax
# alone (references — also written for a repeated enum case —, ArrayObject and class
# internals add checks beyond the byte level, which the replacement never touches).
php_syntax_values = st.recursive(_scalar, lambda c: _nodes(c, with_semantics=False), max_leaves=25)


def php_serialize_all(trees: list) -> list[bytes]:
    out = run_php(_BUILD, stdin=json.dumps(trees).encode())
    return [base64.b64decode(line) for line in out.split("\n")] if trees else []


def php_accepts_all(blobs: list[bytes]) -> list[bool]:
    code = (r"""class Keeper {} enum Suit: string { case Hearts = 'H'; case Spades = 'S'; }
        $r = []; foreach (json_decode(stream_get_contents(STDIN)) as $b) {
          $d = base64_decode($b); $r[] = $d === 'b:0;' || @unserialize($d) !== false; }
        echo json_encode($r);""")
    return json.loads(run_php(code, stdin=json.dumps([_b64(b) for b in blobs]).encode()))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(st.lists(php_values, min_size=1, max_size=30))
def test_round_trip_of_php_serialize_output_is_byte_identical(php, trees):
    for data in php_serialize_all(trees):
        assert serialized.write(serialized.parse(data)) == data


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(st.lists(st.tuples(php_syntax_values, st.integers(0, 10 ** 6), st.sampled_from(
    ["digit+", "digit-", "drop", "dup", "trail"])), min_size=1, max_size=25))
def test_never_accepts_what_php_rejects(php, cases):
    blobs = php_serialize_all([tree for tree, _, _ in cases])
    mutated = [_mutate(data, where, how) for data, (_, where, how) in zip(blobs, cases)]
    accepted_by_php = php_accepts_all(mutated)
    for data, php_ok in zip(mutated, accepted_by_php):
        try:
            serialized.parse(data)
        except serialized.InvalidSerialized:
            continue
        assert php_ok, f"parsed bytes PHP rejects: {data!r}"


def _mutate(data: bytes, where: int, how: str) -> bytes:
    pos = where % len(data)
    if how == "trail":
        return data + b"x"
    if how == "drop":
        return data[:pos] + data[pos + 1:]
    if how == "dup":
        return data[:pos] + data[pos:pos + 1] + data[pos:]
    digits = [i for i, c in enumerate(data) if 0x30 <= c <= 0x39]
    if not digits:
        return data[:-1]
    i = digits[where % len(digits)]
    step = 1 if how == "digit+" else -1
    return data[:i] + bytes([0x30 + (data[i] - 0x30 + step) % 10]) + data[i + 1:]


def test_parses_every_token_kind(php):
    data = php_serialize_all([["a", [
        [["s", _b64(b"url")], ["s", _b64("https://x.com/é".encode())]],
        [["i", "7"], ["d", "0.1"]],
        [["s", _b64(b"keeper")], ["k", ["n"], ["b", 1], ["inf", 0]]],
        [["s", _b64(b"suit")], ["e", 1]],
        [["s", _b64(b"same")], ["same", ["i", "1"]]],
    ]]])[0]
    value = serialized.parse(data)
    assert isinstance(value, serialized.PArray)
    items = dict((k.value if isinstance(k, serialized.PString) else k.value, v)
                 for k, v in value.items)
    assert items[b"url"] == serialized.PString("https://x.com/é".encode())
    assert items[7] == serialized.PFloat(b"0.1")
    keeper = items[b"keeper"]
    assert isinstance(keeper, serialized.PObject) and keeper.class_name == b"Keeper"
    assert [k.value for k, _ in keeper.items] == [b"open", b"\x00*\x00guarded", b"\x00Keeper\x00hidden"]
    assert keeper.items[2][1] == serialized.PFloat(b"-INF")
    assert items[b"suit"] == serialized.PEnum(b"Suit:Hearts")
    assert items[b"same"].items[1][1] == serialized.PRef(b"r", b"10")


def test_changed_string_is_written_with_its_byte_length(php):
    value = serialized.parse(b'a:1:{s:3:"url";s:13:"https://x.com";}')
    value.items[0][1].value = "https://exämple.org/ü".encode()
    data = serialized.write(value)
    assert data == 'a:1:{s:3:"url";s:23:"https://exämple.org/ü";}'.encode()
    assert json.loads(run_php("echo json_encode(unserialize(stream_get_contents(STDIN)));",
                              stdin=data)) == {"url": "https://exämple.org/ü"}


def test_floats_keep_their_original_text():
    for text in (b"0.1", b"1.0E+25", b"-0", b"3.0000000000000004", b"NAN", b"INF", b".5", b"5."):
        assert serialized.write(serialized.parse(b"d:" + text + b";")) == b"d:" + text + b";"
    assert math.isnan(float(serialized.parse(b"d:NAN;").text.decode()))


@pytest.mark.parametrize("bad, reason", [
    (b's:50:"abc";', "string length runs past the end of the data"),
    (b's:2:"abc";', "string length does not match its content"),
    (b'a:2:{i:0;i:1;}', "array key is neither integer nor string"),
    (b'a:1:{i:0;i:1;}x', "trailing bytes after the value"),
    (b'a:1:{d:0.5;i:1;}', "array key is neither integer nor string"),
    (b'O:3:"a b":0:{}', "invalid class name"),
    (b'b:2;', "malformed boolean"),
    (b'S:3:"abc";', "unknown type b'S'"),
    (b'', "data ends where a value was expected"),
    (b'a:1:{i:0;' * 300 + b'N;' + b'}' * 300, "nested too deeply"),
])
def test_invalid_data_is_rejected_with_the_reason(bad, reason):
    with pytest.raises(serialized.InvalidSerialized) as caught:
        serialized.parse(bad)
    assert caught.value.reason == reason


def test_looks_serialized():
    assert serialized.looks_serialized(b'a:1:{i:0;s:1:"x";}')
    assert serialized.looks_serialized(b's:99:"short";')
    assert serialized.looks_serialized(b"N;")
    assert not serialized.looks_serialized(b"https://x.com/a;")
    assert not serialized.looks_serialized(b"a: list of things;")
    assert not serialized.looks_serialized(b'{"a": 1}')
