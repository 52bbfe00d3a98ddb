"""replace_in_value: what PHP builds with the old URL becomes exactly what PHP builds with the new.

The strongest check there is: PHP makes each value (serialized, JSON, nested in each
other, URL-encoded, plain HTML) once with the old URL and path and once with the new;
our replacement of the first must give the second byte for byte.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.php import run_php
from restorer.replace.plan import plan_replacements
from restorer.replace.values import Replacements, replace_in_value

OLD_URL, NEW_URL = "https://www.old-site.com/blog", "https://new-site.org"
OLD_PATH, NEW_PATH = "/var/www/old", "/srv/sites/new"
PAIRS, _ = plan_replacements(OLD_URL, NEW_URL, OLD_PATH, NEW_PATH)

_VALUES_PHP = r"""
class Keeper { public $open; protected $guarded; private $hidden;
  function __construct($a, $b, $c) { $this->open = $a; $this->guarded = $b; $this->hidden = $c; } }
function values($u, $p) {
  $o = new stdClass; $o->url = "$u/"; $o->child = new stdClass; $o->child->img = "$u/img/ñ.png";
  $jsonish = ['url' => "$u/x", 'list' => ["$u/y", 'é', 3, 0.5, null], 'path' => $p];
  return [
    'nested' => serialize(['siteurl' => $u, 'nested' => ['a' => ['b' => "$u/wp-content/x.jpg",
        'ü' => "ä $u ö"]], 'f' => 0.1, 'path' => "$p/wp-content/uploads", 'n' => null,
        't' => true, 7 => 1.0E+25, "$u/key" => 'url as key']),
    'widget' => serialize([2 => ['title' => 'Links', 'text' => "<a href=\"$u/about\">é</a>",
        'inner' => serialize(['u' => "$u/inner", 'deeper' => serialize(['x' => "$u/deep"])])],
        '_multiwidget' => 1]),
    'object' => serialize($o),
    'keeper' => serialize(new Keeper($u, "$p/x", [$u, 'ß'])),
    'scalar' => serialize("$u/only"),
    'json' => json_encode($jsonish),
    'json_unescaped' => json_encode($jsonish, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE),
    'json_pretty' => json_encode($jsonish, JSON_PRETTY_PRINT),
    'serialized_json' => serialize(['cfg' => json_encode(['u' => $u, 'é' => 1])]),
    'json_serialized' => json_encode(['data' => serialize(['u' => $u, 'ö' => "$u/ö"])]),
    'json_json' => json_encode(['inner' => json_encode(['u' => "$u/deep"])]),
    'urlencoded' => 'redirect_to=' . urlencode("$u/wp-login.php") . '&x=1',
    'html' => "<p>é <a href=\"$u/page\">x</a><script>var s = \"" . str_replace('/', '\/', $u)
        . "\";</script> <img src=\"//" . substr($u, 8) . "/i.png\"> $p/file</p>",
  ];
}
$out = [];
foreach ([values($argv_old[0], $argv_old[1]), values($argv_new[0], $argv_new[1])] as $set) {
  $out[] = array_map('base64_encode', $set);
}
echo json_encode($out);
"""


def _php_values() -> tuple[dict[str, bytes], dict[str, bytes]]:
    code = (f"$argv_old = {json.dumps([OLD_URL, OLD_PATH])}; "
            f"$argv_new = {json.dumps([NEW_URL, NEW_PATH])};" + _VALUES_PHP)
    old, new = json.loads(run_php(code))
    decode = lambda values: {k: base64.b64decode(v) for k, v in values.items()}  # noqa: E731
    return decode(old), decode(new)


@pytest.fixture(scope="module")
def php_values(php):
    return _php_values()


@pytest.mark.parametrize("name", ["nested", "widget", "object", "keeper", "scalar", "json",
                                  "json_unescaped", "json_pretty", "serialized_json",
                                  "json_serialized", "json_json", "urlencoded", "html"])
def test_replacement_equals_php_building_with_the_new_url(php_values, name):
    old_values, new_values = php_values
    result, stats = replace_in_value(old_values[name], PAIRS)
    assert result == new_values[name]
    assert stats.invalid_serialized == 0
    assert b"old-site" not in result and OLD_PATH.encode() not in result


def test_counts_say_what_was_rewritten(php_values):
    old_values, _ = php_values
    _, stats = replace_in_value(old_values["widget"], PAIRS)
    assert (stats.replacements, stats.serialized_rewritten, stats.json_rewritten) == (3, 3, 0)
    _, stats = replace_in_value(old_values["json_serialized"], PAIRS)
    assert (stats.replacements, stats.serialized_rewritten, stats.json_rewritten) == (2, 1, 1)


@pytest.mark.parametrize("invalid", [
    'a:1:{s:3:"url";s:5:"https://www.old-site.com/blog";}',          # wrong length
    'a:2:{s:3:"url";s:29:"https://www.old-site.com/blog";',           # truncated
    's:10:"https://www.old-site.com/blog";',
])
def test_invalid_serialized_is_left_alone_and_counted(invalid):
    result, stats = replace_in_value(invalid, PAIRS)
    assert result == invalid
    assert stats.invalid_serialized == 1 and stats.replacements == 0


def test_invalid_serialized_inside_valid_serialized_is_left_alone(php):
    inner_bad = 'a:1:{i:0;s:2:"https://www.old-site.com/blog";}'
    outer = run_php("echo serialize(['bad' => $argv_bad, 'good' => 'https://www.old-site.com/blog']);"
                    .replace("$argv_bad", json.dumps(inner_bad)))
    result, stats = replace_in_value(outer, PAIRS)
    assert stats.invalid_serialized == 1
    assert inner_bad in result and '"good";s:20:"https://new-site.org"' in result


def test_str_in_str_out_bytes_in_bytes_out():
    assert replace_in_value("x https://www.old-site.com/blog", PAIRS)[0] == "x https://new-site.org"
    assert replace_in_value(b"x https://www.old-site.com/blog", PAIRS)[0] == b"x https://new-site.org"


def test_values_without_the_old_url_are_returned_untouched():
    text = 'a:1:{s:1:"a";s:5:"BROKEN";}'  # invalid, but holds no old string: not even counted
    result, stats = replace_in_value(text, PAIRS)
    assert result is text or result == text
    assert stats.invalid_serialized == 0


def test_other_scheme_and_www_spellings_become_the_new_url():
    text = "http://old-site.com/blog/a http://www.old-site.com/blog https://old-site.com/blog/"
    assert replace_in_value(text, Replacements(PAIRS))[0] == (
        "https://new-site.org/a https://new-site.org https://new-site.org/")


def test_json_that_is_not_json_is_replaced_as_text():
    text = '{not json "https:\\/\\/www.old-site.com\\/blog\\/x"'
    assert replace_in_value(text, PAIRS)[0] == '{not json "https:\\/\\/new-site.org\\/x"'


# --- property: for any PHP structure, replacing in what PHP built with the old URL gives
# exactly what PHP builds with the new one (serialized and JSON nested at random).

_PROPERTY_PHP = r"""
function build($n, $u, $p) {
  switch ($n[0]) {
    case 't': return strtr($n[1], ['{U}' => $u, '{P}' => $p]);
    case 'i': return $n[1];
    case 'd': return $n[1];
    case 'b': return $n[1];
    case 'n': return null;
    case 'a': $a = []; foreach ($n[1] as [$k, $v]) { $a[is_int($k) ? $k : strtr($k, ['{U}' => $u])] = build($v, $u, $p); } return $a;
    case 'o': $o = new stdClass; foreach ($n[1] as [$k, $v]) { $o->{"p$k"} = build($v, $u, $p); } return $o;
    case 'ser': return serialize(build($n[1], $u, $p));
    case 'json': return json_encode(build($n[1], $u, $p), $n[2]);
  }
}
$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as $tree) {
  $out[] = [base64_encode(serialize(build($tree, OLD_U, OLD_P))), base64_encode(serialize(build($tree, NEW_U, NEW_P)))];
}
echo json_encode($out);
"""

_around = st.sampled_from(["", " ", "x ", "é ", "<a href=\"", "'", "(", "ü\n"])
_after = st.sampled_from(["", "/", "/page/", "/img/ñ.png", "?q=1", " ", "\"", ".", ")", "#top"])
_marked = st.one_of(
    st.tuples(_around, st.sampled_from(["{U}", "{P}"]), _after).map(lambda t: "".join(t)),
    st.text(max_size=12),
)
_prop_leaf = st.one_of(
    _marked.map(lambda s: ["t", s]),
    st.integers(-10 ** 6, 10 ** 6).map(lambda i: ["i", i]),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: ["d", f]),
    st.booleans().map(lambda b: ["b", b]),
    st.just(["n"]),
)


def _prop_nodes(children):
    key = st.one_of(st.integers(0, 50), st.sampled_from(["k", "{U}/key", "é", "url"]))
    pairs = st.lists(st.tuples(key, children), max_size=4)
    return st.one_of(
        pairs.map(lambda kv: ["a", [list(p) for p in kv]]),
        st.lists(children, max_size=3).map(lambda vs: ["o", [[i, v] for i, v in enumerate(vs)]]),
        children.map(lambda c: ["ser", c]),
        st.tuples(children, st.sampled_from([0, 64, 256, 64 | 256, 128])).map(
            lambda t: ["json", t[0], t[1]]),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(st.lists(st.recursive(_prop_leaf, _prop_nodes, max_leaves=20), min_size=1, max_size=30))
def test_any_php_structure_is_replaced_as_php_would_build_it(php, trees):
    code = (_PROPERTY_PHP.replace("OLD_U", json.dumps(OLD_URL)).replace("OLD_P", json.dumps(OLD_PATH))
            .replace("NEW_U", json.dumps(NEW_URL)).replace("NEW_P", json.dumps(NEW_PATH)))
    built = json.loads(run_php(code, stdin=json.dumps(trees).encode()))
    rep = Replacements(PAIRS)
    for old_b64, new_b64 in built:
        old, new = base64.b64decode(old_b64), base64.b64decode(new_b64)
        assert replace_in_value(old, rep)[0] == new
