"""PHP source, read and written without running PHP: a tokenizer, a literal parser, a literal writer.

Site configuration files (Joomla's ``configuration.php``, WordPress' ``wp-config.php``) are
PHP. sitepack reads them without executing them, so a site's configuration can never run
code inside the backup or restore, and writes values back as PHP literals that real PHP
reads as exactly the same value.

Values map to Python as PHP's ``json_encode`` would show them: strings -> ``str``,
integers -> ``int``, floats -> ``float``, ``true``/``false`` -> ``bool``, ``null`` -> ``None``,
arrays -> ``list`` when the keys are 0..n-1 in order, else ``dict`` (int or str keys).
PHP strings are bytes; bytes that are not UTF-8 are kept as surrogate escapes
(``errors="surrogateescape"``) so they survive a read/write round trip.

Supported literal syntax: single- and double-quoted strings with every escape PHP knows
(``\\n \\t \\r \\v \\e \\f \\0`` octal, ``\\x`` hex, ``\\u{...}``, ``\\\\ \\$ \\"``), heredoc and
nowdoc (closing marker indentation removed as PHP 7.3+ does), integers (decimal, hex,
octal, binary, ``_`` separators; overflow becomes float as in PHP), floats, ``true``,
``false``, ``null`` (any case), ``array(...)`` and ``[...]`` with or without keys, unary
``-``/``+``, string concatenation with ``.``, parentheses, and ``dirname()`` with
``__DIR__``/``__FILE__`` when the caller supplies them (used to resolve include paths).
Anything else (constants, variables, function calls, interpolation in strings) raises
``UnsupportedValue`` naming the line: sitepack never guesses what PHP would compute.
"""

from __future__ import annotations

import dataclasses
import math
import posixpath
import re
from typing import Any

from ..errors import ConfigError

PHP_INT_MAX = 2**63 - 1
PHP_INT_MIN = -(2**63)


class PhpParseError(ConfigError):
    """The PHP text is not valid (or not in the subset sitepack reads)."""


class UnsupportedValue(PhpParseError):
    """A well-formed expression sitepack cannot evaluate without running PHP."""


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str   # open_tag close_tag inline_html ws comment string number ident variable op
    text: str
    start: int
    end: int


# --- tokenizer ------------------------------------------------------------------------

_LABEL = r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*"
_NAME = re.compile(r"\\?" + _LABEL + r"(?:\\" + _LABEL + r")*")
_VARIABLE = re.compile(r"\$" + _LABEL)
_WS = re.compile(r"[ \t\r\n\f\v]+")
_DIGITS = r"[0-9]+(?:_[0-9]+)*"
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*"
    r"|0[bB][01]+(?:_[01]+)*"
    r"|0[oO][0-7]+(?:_[0-7]+)*"
    rf"|(?:(?:{_DIGITS})?\.{_DIGITS}|{_DIGITS}\.(?:{_DIGITS})?)(?:[eE][+-]?{_DIGITS})?"
    rf"|{_DIGITS}(?:[eE][+-]?{_DIGITS})?")
_OPEN_TAG = re.compile(r"<\?php(?=[ \t\r\n]|$)|<\?=", re.IGNORECASE)
_OPERATORS = sorted("""=== !== <=> **= ... <<= >>= ??= ?-> => -> :: == != <> <= >= && || ?? ++ --
    += -= *= /= .= %= &= |= ^= << >> ** ; , . = ( ) [ ] { } + - * / % ! ? : < > & | ^ ~ @ $""".split(),
                    key=len, reverse=True)
_HEREDOC_START = re.compile(r"<<<[ \t]*(?:(" + _LABEL + r")|\"(" + _LABEL + r")\"|'(" + _LABEL + r")')\r?\n")


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _error(text: str, offset: int, message: str, cls=PhpParseError) -> PhpParseError:
    return cls(f"line {line_of(text, offset)}: {message}")


def tokenize(text: str) -> list[Token]:
    """Splits PHP source into tokens covering every character (``"".join`` gives ``text`` back)."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    in_php = False
    while pos < n:
        if not in_php:
            match = _OPEN_TAG.search(text, pos)
            end = match.start() if match else n
            if end > pos:
                tokens.append(Token("inline_html", text[pos:end], pos, end))
            if match:
                tokens.append(Token("open_tag", match.group(), match.start(), match.end()))
                in_php = True
                pos = match.end()
            else:
                pos = n
            continue
        start = pos
        char = text[pos]
        if match := _WS.match(text, pos):
            tokens.append(Token("ws", match.group(), start, match.end()))
        elif text.startswith("?>", pos):
            end = pos + 2
            end += 2 if text.startswith("\r\n", end) else 1 if text.startswith("\n", end) else 0
            tokens.append(Token("close_tag", text[pos:end], start, end))
            in_php = False
        elif text.startswith("#[", pos):
            end = _attribute_end(text, pos)   # a PHP 8 attribute: no value, skipped like a comment
            tokens.append(Token("comment", text[pos:end], start, end))
        elif char == "#" or text.startswith("//", pos):
            end = pos
            while end < n and text[end] not in "\r\n" and not text.startswith("?>", end):
                end += 1
            tokens.append(Token("comment", text[pos:end], start, end))
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise _error(text, pos, "a /* comment is never closed")
            tokens.append(Token("comment", text[pos:end + 2], start, end + 2))
        elif char == "'" or char == '"':
            end = _quoted_end(text, pos)
            tokens.append(Token("string", text[pos:end], start, end))
        elif char == "`":
            raise _error(text, pos, "backtick shell commands are not allowed in a configuration file",
                         UnsupportedValue)
        elif text.startswith("<<<", pos):
            end = _heredoc_end(text, pos)
            tokens.append(Token("string", text[pos:end], start, end))
        elif (match := _NUMBER.match(text, pos)) and not (char == "." and not text[pos + 1:pos + 2].isdigit()):
            tokens.append(Token("number", match.group(), start, match.end()))
        elif match := _VARIABLE.match(text, pos):
            tokens.append(Token("variable", match.group(), start, match.end()))
        elif match := _NAME.match(text, pos):
            tokens.append(Token("ident", match.group(), start, match.end()))
        else:
            for op in _OPERATORS:
                if text.startswith(op, pos):
                    tokens.append(Token("op", op, start, pos + len(op)))
                    break
            else:
                raise _error(text, pos, f"unexpected character {char!r}")
        pos = tokens[-1].end
    return tokens


def _attribute_end(text: str, pos: int) -> int:
    depth = 0
    for index in range(pos + 1, len(text)):
        if text[index] == "[":
            depth += 1
        elif text[index] == "]":
            depth -= 1
            if depth == 0:
                return index + 1
    raise _error(text, pos, "a #[ attribute is never closed")


def _quoted_end(text: str, pos: int) -> int:
    quote = text[pos]
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == quote:
            return index + 1
        index += 1
    raise _error(text, pos, f"a {quote}-quoted string is never closed")


def _heredoc_end(text: str, pos: int) -> int:
    match = _HEREDOC_START.match(text, pos)
    if not match:
        raise _error(text, pos, "malformed heredoc/nowdoc start (expected <<<LABEL and a new line)")
    label = match.group(1) or match.group(2) or match.group(3)
    closing = re.compile(r"^[ \t]*" + re.escape(label) + r"(?![A-Za-z0-9_\x80-\U0010ffff])", re.MULTILINE)
    found = closing.search(text, match.end())
    if not found:
        raise _error(text, pos, f"heredoc/nowdoc {label} is never closed")
    return found.end()


# --- string literal decoding ----------------------------------------------------------

_DOUBLE_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "v": b"\v", "e": b"\x1b", "f": b"\f",
                   "\\": b"\\", "$": b"$"}


def _to_str(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _from_str(value: str) -> bytes:
    return value.encode("utf-8", errors="surrogateescape")


def decode_single_quoted(body: str) -> str:
    out, index = [], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body) and body[index + 1] in "\\'":
            out.append(body[index + 1])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def decode_double_quoted(body: str, *, quote: str | None = '"', where: str = "") -> str:
    """Decodes the inside of a double-quoted string or heredoc (``quote=None``)."""
    out = bytearray()
    index, n = 0, len(body)
    while index < n:
        char = body[index]
        if char == "\\" and index + 1 < n:
            nxt = body[index + 1]
            if nxt in _DOUBLE_ESCAPES:
                out += _DOUBLE_ESCAPES[nxt]
                index += 2
            elif quote is not None and nxt == quote:
                out += nxt.encode()
                index += 2
            elif nxt == "{":
                out += b"\\{"   # not an escape, but it stops "{$" from starting interpolation
                index += 2
            elif match := re.compile(r"[0-7]{1,3}").match(body, index + 1):
                out.append(int(match.group(), 8) & 0xFF)
                index = match.end()
            elif match := re.compile(r"x([0-9A-Fa-f]{1,2})").match(body, index + 1):
                out.append(int(match.group(1), 16))
                index = match.end()
            elif match := re.compile(r"u\{([0-9A-Fa-f]+)\}").match(body, index + 1):
                codepoint = int(match.group(1), 16)
                if codepoint > 0x10FFFF:
                    raise UnsupportedValue(f"{where}invalid \\u{{{match.group(1)}}} escape (beyond U+10FFFF)")
                out += chr(codepoint).encode("utf-8", errors="surrogatepass")
                index = match.end()
            elif nxt == "u" and body.startswith("u{", index + 1):
                raise UnsupportedValue(f"{where}invalid \\u{{...}} escape")
            else:
                out += b"\\"
                index += 1
        elif char == "$" and index + 1 < n and re.match(r"[A-Za-z_\x80-\U0010ffff]", body[index + 1]):
            raise UnsupportedValue(f"{where}a double-quoted string interpolates a variable "
                                   f"({body[index:index + 20]!r}); sitepack reads literal values only")
        elif char == "{" and index + 1 < n and body[index + 1] == "$":
            raise UnsupportedValue(f"{where}a double-quoted string interpolates an expression "
                                   f"({body[index:index + 20]!r}); sitepack reads literal values only")
        else:
            out += _from_str(char)
            index += 1
    return _to_str(bytes(out))


def decode_string_token(token_text: str, *, where: str = "") -> str:
    """The value of a string token (quoted string, heredoc or nowdoc) as PHP sees it."""
    if token_text.startswith("'"):
        return decode_single_quoted(token_text[1:-1])
    if token_text.startswith('"'):
        return decode_double_quoted(token_text[1:-1], where=where)
    match = _HEREDOC_START.match(token_text)
    label = match.group(1) or match.group(2) or match.group(3)
    rest = token_text[match.end():]
    closing_line = rest.rsplit("\n", 1)[-1] if "\n" in rest else rest
    indent = closing_line[: len(closing_line) - len(closing_line.lstrip(" \t"))]
    body = rest[: len(rest) - len(closing_line)]
    body = body[:-1] if body.endswith("\n") else body
    body = body[:-1] if body.endswith("\r") else body
    if indent:
        lines = body.split("\n")
        for number, line in enumerate(lines):
            if line.strip(" \t") and not line.startswith(indent):
                raise PhpParseError(f"{where}heredoc {label}: a body line is indented less than its "
                                    "closing marker")
            lines[number] = line[len(indent):] if line.startswith(indent) else line.lstrip(" \t")
        body = "\n".join(lines)
    if match.group(3):  # nowdoc: no escapes at all
        return body
    return decode_double_quoted(body, quote=None, where=where)


def parse_number(text: str):
    clean = text.replace("_", "")
    lower = clean.lower()
    if lower.startswith("0x"):
        value = int(clean[2:], 16)
    elif lower.startswith("0b"):
        value = int(clean[2:], 2)
    elif lower.startswith("0o"):
        value = int(clean[2:], 8)
    elif any(c in lower for c in ".e"):
        return float(clean)
    elif len(clean) > 1 and clean.startswith("0"):
        if not re.fullmatch(r"[0-7]+", clean):
            raise PhpParseError(f"invalid octal number {text}")
        value = int(clean, 8)
    else:
        value = int(clean)
    return value if value <= PHP_INT_MAX else float(value)


# --- expression parser ----------------------------------------------------------------

class TokenStream:
    """Tokens without whitespace and comments, with a cursor."""

    def __init__(self, text: str, tokens: list[Token], start: int = 0, stop: int | None = None):
        self.text = text
        self.tokens = [t for t in tokens[start:stop] if t.kind not in ("ws", "comment")]
        self.index = 0

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.index + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise PhpParseError("unexpected end of file")
        self.index += 1
        return token

    def at(self, kind: str, text: str | None = None, *, fold: bool = False) -> bool:
        token = self.peek()
        if token is None or token.kind != kind:
            return False
        if text is None:
            return True
        return token.text.lower() == text.lower() if fold else token.text == text

    def expect(self, kind: str, text: str | None = None, *, what: str | None = None) -> Token:
        token = self.peek()
        if not self.at(kind, text):
            found = "the end of the file" if token is None else repr(token.text)
            offset = len(self.text) if token is None else token.start
            raise _error(self.text, offset, f"expected {what or text or kind}, found {found}")
        return self.next()

    def error(self, message: str, cls=PhpParseError) -> PhpParseError:
        token = self.peek()
        return _error(self.text, token.start if token else len(self.text), message, cls)


_KEYWORD_VALUES = {"true": True, "false": False, "null": None}
# Predefined constants PHP writes for values that have no literal (case-sensitive in PHP).
_NUMERIC_CONSTANTS = {"INF": math.inf, "NAN": math.nan, "PHP_INT_MAX": PHP_INT_MAX, "PHP_INT_MIN": PHP_INT_MIN}


def parse_expression(stream: TokenStream, *, magic: dict[str, str] | None = None):
    """Parses one constant expression at the cursor and returns its value."""
    value = _parse_unary(stream, magic)
    while stream.at("op", "."):
        stream.next()
        right = _parse_unary(stream, magic)
        value = _to_php_string(stream, value) + _to_php_string(stream, right)
    return value


def _to_php_string(stream: TokenStream, value) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if value is None:
        return ""
    if isinstance(value, (str, int)):
        return str(value)
    raise stream.error("concatenating arrays or floats is not supported", UnsupportedValue)


def _parse_unary(stream: TokenStream, magic):
    if stream.at("op", "-") or stream.at("op", "+"):
        sign = stream.next().text
        value = _parse_unary(stream, magic)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise stream.error("a sign in front of a non-number is not supported", UnsupportedValue)
        if sign == "+":
            return value
        negated = -value
        in_range = not isinstance(negated, int) or PHP_INT_MIN <= negated <= PHP_INT_MAX
        return negated if in_range else float(negated)
    return _parse_primary(stream, magic)


def _parse_primary(stream: TokenStream, magic):
    token = stream.peek()
    if token is None:
        raise stream.error("expected a value")
    where = f"line {line_of(stream.text, token.start)}: "
    if token.kind == "string":
        stream.next()
        return decode_string_token(token.text, where=where)
    if token.kind == "number":
        stream.next()
        try:
            return parse_number(token.text)
        except PhpParseError as exc:
            raise _error(stream.text, token.start, str(exc)) from None
    if token.kind == "op" and token.text == "(":
        stream.next()
        value = parse_expression(stream, magic=magic)
        stream.expect("op", ")")
        return value
    if token.kind == "op" and token.text == "[":
        stream.next()
        return _parse_array_items(stream, "]", magic)
    if token.kind == "ident":
        name = token.text.lstrip("\\").lower()
        if name in _KEYWORD_VALUES:
            stream.next()
            return _KEYWORD_VALUES[name]
        if token.text.lstrip("\\") in _NUMERIC_CONSTANTS:
            stream.next()
            return _NUMERIC_CONSTANTS[token.text.lstrip("\\")]
        if name == "array" and stream.peek(1) is not None and stream.peek(1).text == "(":
            stream.next()
            stream.next()
            return _parse_array_items(stream, ")", magic)
        if magic is not None and token.text.upper() in ("__DIR__", "__FILE__"):
            stream.next()
            return magic[token.text.upper()]
        if magic is not None and name == "dirname" and stream.peek(1) is not None and stream.peek(1).text == "(":
            stream.next()
            stream.next()
            inner = parse_expression(stream, magic=magic)
            stream.expect("op", ")")
            if not isinstance(inner, str):
                raise stream.error("dirname() of a non-string", UnsupportedValue)
            return posixpath.dirname(inner)
        raise stream.error(f"{token.text} is a constant or function call; sitepack reads literal "
                           "values only", UnsupportedValue)
    if token.kind == "variable":
        raise stream.error(f"{token.text} is a variable; sitepack reads literal values only", UnsupportedValue)
    raise stream.error(f"expected a value, found {token.text!r}")


def _php_key(stream: TokenStream, key):
    """PHP's array key casting: decimal-integer strings, bools and floats become ints."""
    if isinstance(key, bool):
        return int(key)
    if key is None:
        return ""
    if isinstance(key, float):
        if math.isnan(key) or math.isinf(key):
            raise stream.error("an array key that is NaN or infinite", UnsupportedValue)
        return int(key)
    if isinstance(key, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", key) and key != "-0":
        number = int(key)
        if PHP_INT_MIN <= number <= PHP_INT_MAX:
            return number
    if isinstance(key, (list, dict)):
        raise stream.error("an array cannot be an array key")
    return key


def _parse_array_items(stream: TokenStream, closer: str, magic):
    items: dict = {}
    next_index = None   # PHP: one past the largest int key so far (negative keys count too)
    while not stream.at("op", closer):
        if stream.at("op", "..."):
            raise stream.error("array unpacking (...) is not supported", UnsupportedValue)
        first = parse_expression(stream, magic=magic)
        if stream.at("op", "=>"):
            stream.next()
            key = _php_key(stream, first)
            value = parse_expression(stream, magic=magic)
        else:
            key, value = (0 if next_index is None else next_index), first
        items[key] = value
        if isinstance(key, int) and (next_index is None or key >= next_index):
            next_index = key + 1
        if not stream.at("op", closer):
            stream.expect("op", ",", what=f"',' or '{closer}'")
    stream.next()
    if list(items) == list(range(len(items))):
        return list(items.values())
    return items


def parse_value(text: str, *, magic: dict[str, str] | None = None):
    """The value of a standalone PHP expression such as ``'a\\'b'`` or ``array(1, 2)``."""
    stream = TokenStream(text, tokenize("<?php " + text), 1)
    value = parse_expression(stream, magic=magic)
    if stream.peek() is not None:
        raise stream.error(f"unexpected {stream.peek().text!r} after the value")
    return value


# --- literal writer -------------------------------------------------------------------

# Characters that must not appear raw in a single-quoted literal: NUL and other control
# characters survive in PHP source, but editors and diff tools mangle them; such strings
# are written double-quoted with escapes instead.
_NEEDS_DOUBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def php_string_literal(value: str) -> str:
    """A PHP string literal that PHP reads back as exactly ``value``."""
    if not _NEEDS_DOUBLE.search(value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    out = []
    for char in value:
        code = ord(char)
        if char in '\\"$':
            out.append("\\" + char)
        elif 0xDC80 <= code <= 0xDCFF:   # a byte that was not UTF-8 when read
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}"))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def php_literal(value: Any) -> str:
    """``value`` as PHP source that evaluates to exactly it (see the module doc for types)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not PHP_INT_MIN <= value <= PHP_INT_MAX:
            raise ValueError(f"{value} does not fit in a PHP integer")
        return str(value) if value != PHP_INT_MIN else "PHP_INT_MIN"
    if isinstance(value, float):
        if math.isnan(value):
            return "NAN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return php_string_literal(value)
    if isinstance(value, (list, tuple)):
        return "array(" + ", ".join(php_literal(item) for item in value) + ")"
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise ValueError(f"PHP array keys are ints or strings, not {key!r}")
            parts.append(f"{php_literal(key)} => {php_literal(item)}")
        return "array(" + ", ".join(parts) + ")"
    raise ValueError(f"{type(value).__name__} values have no PHP literal")
