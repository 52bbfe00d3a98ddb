"""Rewriting one value: old URLs and paths replaced without breaking serialized or JSON data.

``replace_in_value(value, pairs)`` rewrites one value (``str`` or ``bytes``):

- PHP-serialized data is parsed (``restorer.replace.serialized``), every string in it (array
  keys and object property names included) is rewritten by this same function — so a
  serialized string inside a serialized value, or JSON inside one, is handled at any
  depth — and the value is written again with correct byte lengths;
- data that looks serialized but is not exactly valid is LEFT ALONE and counted
  (``invalid_serialized``): blind text replacement would change lengths and turn a value
  PHP may still read into one it cannot;
- a JSON document is rewritten string token by string token: each string is decoded,
  rewritten by this function and encoded again in the document's own style (escaped
  slashes and ``\\uXXXX`` escapes when the document uses them), every other byte stays
  as it was;
- anything else is plain text: every pair (including the JSON-escaped and URL-encoded
  spellings ``restorer.replace.plan`` adds) is replaced in one left-to-right pass,
  longest old string first, so a replaced text is never replaced again.
"""

from __future__ import annotations

import dataclasses
import json
import re

from . import serialized
from .plan import old_regex, prefilter_groups

_MAX_NESTING = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# An escape sequence only counts when the backslash is not itself escaped (``\\\\/`` is
# an escaped backslash followed by a plain slash): an even run of backslashes before it.
_UNESCAPED = rb"(?<!\\)(?:\\\\)*"
_ESCAPED_SLASH = re.compile(_UNESCAPED + rb"\\/")
_NON_ASCII_ESCAPE = re.compile(_UNESCAPED + rb"\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|"
                               rb"[1-9a-fA-F][0-9a-fA-F]{3})")


@dataclasses.dataclass
class ValueStats:
    """What ``replace_in_value`` did (summed over every value it was given)."""

    replacements: int = 0          # old strings replaced
    serialized_rewritten: int = 0  # serialized values written again with new lengths
    json_rewritten: int = 0        # JSON documents re-encoded string by string
    invalid_serialized: int = 0    # looked serialized, was not valid: left alone


class Replacements:
    """Compiled pairs: one regex, longest old first, plus the cheap pre-filter."""

    def __init__(self, pairs: list[tuple[str, str]]):
        encoded = [(old.encode("utf-8"), new.encode("utf-8")) for old, new in pairs if old]
        encoded.sort(key=lambda pair: -len(pair[0]))
        self.pairs = [(old.decode("utf-8"), new.decode("utf-8")) for old, new in encoded]
        self._new = dict(encoded)
        self._regex = re.compile(b"|".join(old_regex(old) for old, _ in encoded)) if encoded else None
        self.groups = prefilter_groups([old for old, _ in self.pairs])
        self._single = [group[0] for group in self.groups if len(group) == 1]
        self._multi = [sorted(group, key=len, reverse=True) for group in self.groups if len(group) > 1]

    def might_match(self, data: bytes) -> bool:
        """False only when ``data`` cannot hold any old string in any escaping."""
        for needle in self._single:
            if needle in data:
                return True
        for group in self._multi:
            for needle in group:
                if needle not in data:
                    break
            else:
                return True
        return False

    def substitute(self, data: bytes) -> tuple[bytes, int]:
        if self._regex is None:
            return data, 0
        new = self._new
        return self._regex.subn(lambda match: new[match.group(0)], data)


def replace_in_value(value: str | bytes, pairs) -> tuple[str | bytes, ValueStats]:
    """``value`` with every old string replaced, and what was done.

    ``pairs`` is a list of ``(old, new)`` (as ``plan_replacements`` returns) or a
    ``Replacements``. The result has the type of ``value``; a ``str`` is handled as its
    UTF-8 bytes, which is what PHP's serialized lengths count.
    """
    replacements = pairs if isinstance(pairs, Replacements) else Replacements(pairs)
    stats = ValueStats()
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        return _replace(data, replacements, stats, 0).decode("utf-8", "surrogatepass"), stats
    return _replace(bytes(value), replacements, stats, 0), stats


def _replace(data: bytes, rep: Replacements, stats: ValueStats, depth: int) -> bytes:
    if not data or not rep.might_match(data):
        return data
    return rewrite_value(data, rep, stats, depth)


def rewrite_value(data: bytes, rep: Replacements, stats: ValueStats, depth: int) -> bytes:
    """``replace_in_value``'s work on bytes already known to pass ``might_match`` (the
    table walker's server-side pre-filter has checked that)."""
    if depth < _MAX_NESTING:
        if serialized.looks_serialized(data):
            return _replace_serialized(data, rep, stats, depth)
        first = data.lstrip()[:1]
        if first in (b"{", b"[", b'"'):
            rewritten = _replace_json(data, rep, stats, depth)
            if rewritten is not None:
                return rewritten
    new, count = rep.substitute(data)
    stats.replacements += count
    return new


def _replace_serialized(data: bytes, rep: Replacements, stats: ValueStats, depth: int) -> bytes:
    try:
        value = serialized.parse(data)
    except serialized.InvalidSerialized:
        stats.invalid_serialized += 1
        return data
    if not _walk(value, rep, stats, depth + 1):
        return data
    stats.serialized_rewritten += 1
    return serialized.write(value)


def _walk(value, rep: Replacements, stats: ValueStats, depth: int) -> bool:
    """Rewrites the strings inside a parsed serialized value in place; True if any changed."""
    kind = type(value)
    if kind is serialized.PString:
        new = _replace(value.value, rep, stats, depth)
        if new == value.value:
            return False
        value.value = new
        return True
    if kind is serialized.PArray or kind is serialized.PObject:
        changed = False
        for index, (key, item) in enumerate(value.items):
            key_changed = _walk(key, rep, stats, depth)
            if _walk(item, rep, stats, depth) or key_changed:
                value.items[index] = (key, item)
                changed = True
        return changed
    if kind is serialized.PCustom:
        # A Serializable class writes its own payload; it is rewritten only when that
        # payload is itself one serialized value, else left alone and counted.
        if not rep.might_match(value.payload):
            return False
        if not serialized.looks_serialized(value.payload):
            stats.invalid_serialized += 1
            return False
        new = _replace_serialized(value.payload, rep, stats, depth)
        if new == value.payload:
            return False
        value.payload = new
        return True
    return False


def _replace_json(data: bytes, rep: Replacements, stats: ValueStats, depth: int) -> bytes | None:
    """``data`` rewritten as a JSON document, or None when it is not valid JSON."""
    try:
        json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    escape_slashes = _ESCAPED_SLASH.search(data) is not None or b"/" not in data
    ensure_ascii = _NON_ASCII_ESCAPE.search(data) is not None or data.isascii()
    changed = False

    def rewrite(match: re.Match) -> bytes:
        nonlocal changed
        token = match.group(0)
        if not rep.might_match(token):
            return token
        try:
            text = json.loads(token.decode("utf-8")).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape: not text we can rewrite
            return token
        new = _replace(text, rep, stats, depth + 1)
        if new == text:
            return token
        changed = True
        encoded = json.dumps(new.decode("utf-8"), ensure_ascii=ensure_ascii)
        if escape_slashes:
            encoded = encoded.replace("/", "\\/")
        return encoded.encode("utf-8")

    result = _JSON_STRING.sub(rewrite, data)
    if not changed:
        return data
    stats.json_rewritten += 1
    return result
