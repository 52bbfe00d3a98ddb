"""PHP ``serialize()`` data: a strict parser and a writer, on bytes.

PHP writes string lengths in BYTES, so a value is parsed and written as ``bytes``; a
change of a string's content (a new URL) is only safe when the value is parsed, the
string replaced and the whole value written again with the new lengths.

Strict means: ``parse`` accepts exactly what PHP's ``unserialize()`` accepts for the
tokens PHP's ``serialize()`` produces (``N; b: i: d: s: a: O: C: E: r: R:``), the value
must span the whole input (no trailing bytes), and anything else raises
``InvalidSerialized``: callers leave such data alone rather than "fix" it. The legacy
escaped-string token ``S:`` (never written by ``serialize()``) is treated as invalid
too, as is nesting deeper than ``MAX_DEPTH`` (PHP's default limit is 4096; real site
data stays far below 100).

Round trip: ``write(parse(data)) == data`` for everything ``serialize()`` produces.
Integers, floats and references keep their original token text (PHP's float formatting
depends on its ``serialize_precision`` setting, so a float is never re-formatted).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Union

MAX_DEPTH = 200


class InvalidSerialized(ValueError):
    """The bytes are not exactly one valid PHP-serialized value."""

    def __init__(self, reason: str, offset: int):
        super().__init__(f"{reason} at byte {offset}")
        self.reason = reason
        self.offset = offset


@dataclasses.dataclass
class PNull:
    __slots__ = ()


@dataclasses.dataclass
class PBool:
    __slots__ = ('value',)
    value: bool


@dataclasses.dataclass
class PInt:
    __slots__ = ('text',)
    text: bytes  # the digits as written, sign included

    @property
    def value(self) -> int:
        return int(self.text)


@dataclasses.dataclass
class PFloat:
    __slots__ = ('text',)
    text: bytes  # as written: b"0.1", b"1.0E+25", b"INF", b"NAN"…


@dataclasses.dataclass
class PString:
    __slots__ = ('value',)
    value: bytes


@dataclasses.dataclass
class PArray:
    __slots__ = ('items',)
    items: list  # [(PInt | PString key, value), …] in order


@dataclasses.dataclass
class PObject:
    __slots__ = ('class_name', 'items')
    class_name: bytes
    items: list  # properties as (key, value); private/protected names carry NUL bytes


@dataclasses.dataclass
class PCustom:
    """``C:`` — a class implementing ``Serializable``; its payload format is its own."""

    __slots__ = ('class_name', 'payload')

    class_name: bytes
    payload: bytes


@dataclasses.dataclass
class PEnum:
    __slots__ = ('name',)
    name: bytes  # b"Class:Case"


@dataclasses.dataclass
class PRef:
    __slots__ = ('kind', 'index')
    kind: bytes  # b"r" (object handle) or b"R" (PHP reference)
    index: bytes


# typing.Union, not ``|``: a union of classes at run time needs Python 3.10.
PValue = Union[PNull, PBool, PInt, PFloat, PString, PArray, PObject, PCustom, PEnum, PRef]

_INT = re.compile(rb"i:([+-]?[0-9]+);")
_FLOAT = re.compile(
    rb"d:((?:[+-]?(?:[0-9]*\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+)(?:[eE][+-]?[0-9]+)?)|NAN|-?INF);")
_LENGTH_QUOTE = re.compile(rb"([sOCE]):([0-9]+):\"")
_COUNT_BRACE = re.compile(rb"a:([0-9]+):\{")
_OBJECT_TAIL = re.compile(rb"\":([0-9]+):\{")
_REF = re.compile(rb"([rR]):([0-9]+);")
# PHP's zend_is_valid_class_name: letters, digits, underscore, bytes >= 0x80, backslash.
_CLASS_NAME = re.compile(rb"[A-Za-z0-9_\x80-\xff\\]+")
_ENUM_NAME = re.compile(rb"[A-Za-z0-9_\x80-\xff\\]+:[A-Za-z0-9_\x80-\xff]+")

# What the first bytes of a serialized value look like; used to decide whether a text
# that fails to parse was meant to be serialized data (and so must be left alone).
_LOOKS_SERIALIZED = re.compile(
    rb"(?:a:[0-9]+:\{|[OCE]:[0-9]+:\"|[sS]:[0-9]+:\"|i:[+-]?[0-9]|d:[-+0-9.INFA]|b:[01];|N;|[rR]:[0-9])")


def looks_serialized(data: bytes) -> bool:
    """Whether ``data`` starts like a serialized value and ends like one (``;`` or ``}``)."""
    return (len(data) >= 2 and data[-1:] in (b";", b"}")
            and _LOOKS_SERIALIZED.match(data) is not None)


def parse(data: bytes) -> PValue:
    """The value serialized in ``data``; raises ``InvalidSerialized`` unless exactly valid."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("serialized data is bytes")
    value, end = _Parser(bytes(data)).value(0, 0)
    if end != len(data):
        raise InvalidSerialized("trailing bytes after the value", end)
    return value


def write(value: PValue) -> bytes:
    """The serialized bytes of ``value`` (string lengths computed from the bytes)."""
    out: list[bytes] = []
    _write(value, out)
    return b"".join(out)


class _Parser:
    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def value(self, pos: int, depth: int) -> tuple[PValue, int]:
        data = self.data
        tag = data[pos:pos + 1]
        if tag == b"s" or tag == b"O" or tag == b"C" or tag == b"E":
            return self._length_prefixed(pos, depth)
        if tag == b"a":
            match = _COUNT_BRACE.match(data, pos)
            if match is None:
                raise InvalidSerialized("malformed array header", pos)
            items, end = self._items(match.end(), int(match.group(1)), depth)
            return PArray(items), end
        if tag == b"i":
            match = _INT.match(data, pos)
            if match is None:
                raise InvalidSerialized("malformed integer", pos)
            return PInt(match.group(1)), match.end()
        if tag == b"d":
            match = _FLOAT.match(data, pos)
            if match is None:
                raise InvalidSerialized("malformed float", pos)
            return PFloat(match.group(1)), match.end()
        if tag == b"b":
            token = data[pos:pos + 4]
            if token == b"b:0;" or token == b"b:1;":
                return PBool(token == b"b:1;"), pos + 4
            raise InvalidSerialized("malformed boolean", pos)
        if tag == b"N":
            if data[pos:pos + 2] == b"N;":
                return PNull(), pos + 2
            raise InvalidSerialized("malformed null", pos)
        if tag == b"r" or tag == b"R":
            match = _REF.match(data, pos)
            if match is None or int(match.group(2)) == 0:
                raise InvalidSerialized("malformed reference", pos)
            return PRef(match.group(1), match.group(2)), match.end()
        if pos >= len(data):
            raise InvalidSerialized("data ends where a value was expected", pos)
        raise InvalidSerialized(f"unknown type {tag!r}", pos)

    def _length_prefixed(self, pos: int, depth: int) -> tuple[PValue, int]:
        data = self.data
        match = _LENGTH_QUOTE.match(data, pos)
        if match is None:
            raise InvalidSerialized("malformed length header", pos)
        tag, start = match.group(1), match.end()
        end = start + int(match.group(2))
        if end > len(data):
            raise InvalidSerialized("string length runs past the end of the data", pos)
        body = data[start:end]
        if tag == b"s":
            if data[end:end + 2] != b'";':
                raise InvalidSerialized("string length does not match its content", pos)
            return PString(body), end + 2
        if tag == b"E":
            if data[end:end + 2] != b'";' or _ENUM_NAME.fullmatch(body) is None:
                raise InvalidSerialized("malformed enum", pos)
            return PEnum(body), end + 2
        if _CLASS_NAME.fullmatch(body) is None:
            raise InvalidSerialized("invalid class name", pos)
        tail = _OBJECT_TAIL.match(data, end)
        if tail is None:
            raise InvalidSerialized("class name length does not match", pos)
        count = int(tail.group(1))
        if tag == b"O":
            items, after = self._items(tail.end(), count, depth)
            return PObject(body, items), after
        payload_end = tail.end() + count
        if data[payload_end:payload_end + 1] != b"}":
            raise InvalidSerialized("custom object payload length does not match", pos)
        return PCustom(body, data[tail.end():payload_end]), payload_end + 1

    def _items(self, pos: int, count: int, depth: int) -> tuple[list, int]:
        if depth >= MAX_DEPTH:
            raise InvalidSerialized("nested too deeply", pos)
        data = self.data
        items = []
        for _ in range(count):
            tag = data[pos:pos + 1]
            if tag != b"i" and tag != b"s":
                raise InvalidSerialized("array key is neither integer nor string", pos)
            key, pos = self.value(pos, depth + 1)
            value, pos = self.value(pos, depth + 1)
            items.append((key, value))
        if data[pos:pos + 1] != b"}":
            raise InvalidSerialized("element count does not match", pos)
        return items, pos + 1


def _write(value: PValue, out: list[bytes]) -> None:
    kind = type(value)
    if kind is PString:
        out.append(b's:%d:"' % len(value.value))
        out.append(value.value)
        out.append(b'";')
    elif kind is PArray:
        out.append(b"a:%d:{" % len(value.items))
        for key, item in value.items:
            _write(key, out)
            _write(item, out)
        out.append(b"}")
    elif kind is PInt:
        out.append(b"i:" + value.text + b";")
    elif kind is PObject:
        out.append(b'O:%d:"' % len(value.class_name))
        out.append(value.class_name)
        out.append(b'":%d:{' % len(value.items))
        for key, item in value.items:
            _write(key, out)
            _write(item, out)
        out.append(b"}")
    elif kind is PFloat:
        out.append(b"d:" + value.text + b";")
    elif kind is PBool:
        out.append(b"b:1;" if value.value else b"b:0;")
    elif kind is PNull:
        out.append(b"N;")
    elif kind is PCustom:
        out.append(b'C:%d:"' % len(value.class_name))
        out.append(value.class_name)
        out.append(b'":%d:{' % len(value.payload))
        out.append(value.payload)
        out.append(b"}")
    elif kind is PEnum:
        out.append(b'E:%d:"' % len(value.name) + value.name + b'";')
    elif kind is PRef:
        out.append(value.kind + b":" + value.index + b";")
    else:
        raise TypeError(f"not a serialized value node: {value!r}")
