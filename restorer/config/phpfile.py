"""The structure of a PHP configuration file: class properties, define() calls, variable
assignments and include/require statements, each with the exact span of its value so a
rewrite can replace that value and leave every other byte as it was.

Also the file-level helpers shared by the Joomla and WordPress readers: reading the file
as PHP does (bytes, no newline translation) and writing it back atomically.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .phpvalues import (PhpParseError, Token, TokenStream, UnsupportedValue, line_of, parse_expression,
                        tokenize)

INCLUDE_KEYWORDS = ("include", "include_once", "require", "require_once")
_MODIFIERS = {"public", "protected", "private", "var", "static", "readonly", "final", "abstract"}


@dataclasses.dataclass
class ValueSlot:
    """A value in the source: what PHP would see, where its text is, or why it is unknown."""

    name: str
    value: Any
    value_start: int            # span of the value expression; equal when there is none
    value_end: int
    line: int
    unsupported: str | None = None   # why the value could not be read (then ``value`` is None)
    has_value: bool = True           # False for ``public $x;`` (no initialiser)


@dataclasses.dataclass
class IncludeStatement:
    statement: str              # the source text, e.g. ``require_once '/home/x/secret.php';``
    line: int
    target: str | None          # the file it names, when that is a literal we can resolve


@dataclasses.dataclass
class ClassBody:
    name: str
    properties: dict[str, ValueSlot]     # public, non-static: what get_object_vars() shows
    other_properties: list[str]          # private/protected/static ones (invisible to the site)
    assigned_in_code: list[str]          # ``$this->name = ...`` inside methods
    close_brace: int                     # offset of the class' closing ``}``
    last_member_end: int                 # offset after the last property declaration (or ``{``)


def read_php_file(path: Path) -> str:
    """The file's text as PHP would read it: UTF-8, undecodable bytes kept, no newline changes."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}; check that the file exists and "
                          "that sitepack may read it") from None
    return data.decode("utf-8", errors="surrogateescape")


def write_config_atomically(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text`` through a temporary file and a rename.

    Keeps the file's permission bits (and owner, when allowed). Raises ``ConfigError`` when
    the file cannot be written, so the caller can show the text for the user to save.
    """
    path = Path(path)
    data = text.encode("utf-8", errors="surrogateescape")
    try:
        original = path.stat()
    except FileNotFoundError:
        original = None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; save the configuration shown "
                          f"as {path} yourself") from None
    temp_name = None
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".sitepack-tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if original is not None:
            os.chmod(temp_name, original.st_mode & 0o7777)
            try:
                os.chown(temp_name, original.st_uid, original.st_gid)
            except PermissionError:
                pass  # not root: the file keeps our owner, which is the one that may write it
        else:
            os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
        temp_name = None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; save the configuration shown "
                          f"as {path} yourself") from None
    finally:
        if temp_name is not None:
            try:
                os.unlink(temp_name)
            except OSError:
                pass


def _skip_to_statement_end(stream: TokenStream) -> Token | None:
    """Moves past the next ``;`` (or stops before ``?>``) at bracket depth 0."""
    depth = 0
    while (token := stream.peek()) is not None:
        if token.kind == "close_tag" and depth == 0:
            return None
        stream.next()
        if token.kind == "op" and token.text in ("(", "[", "{"):
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            depth -= 1
        elif token.kind == "op" and token.text == ";" and depth == 0:
            return token
    return None


def find_includes(text: str, tokens: list[Token], *, file_path: Path | None) -> list[IncludeStatement]:
    """Every include/require in the file, wherever it is (top level, methods, conditions)."""
    stream = TokenStream(text, tokens)
    magic = None
    if file_path is not None:
        absolute = str(Path(file_path).absolute())
        magic = {"__DIR__": str(Path(absolute).parent), "__FILE__": absolute}
    found = []
    while (token := stream.peek()) is not None:
        if token.kind != "ident" or token.text.lower() not in INCLUDE_KEYWORDS:
            stream.next()
            continue
        stream.next()
        start = stream.index
        target = None
        try:
            value = parse_expression(stream, magic=magic)
            if isinstance(value, str):
                target = value
                if file_path is not None and not os.path.isabs(value):
                    target = str(Path(file_path).absolute().parent / value)
        except PhpParseError:
            pass
        stream.index = start
        end_token = _skip_to_statement_end(stream)
        end = end_token.end if end_token else (stream.peek().start if stream.peek() else len(text))
        found.append(IncludeStatement(text[token.start:end].strip(), line_of(text, token.start), target))
    return found


def _skip_expression(stream: TokenStream, stops: tuple[str, ...]) -> None:
    """Moves over an expression it cannot evaluate, up to a stop token or an unmatched closer."""
    depth = 0
    while (token := stream.peek()) is not None:
        if token.kind == "op" and token.text in ("(", "[", "{"):
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            if depth == 0:
                return
            depth -= 1
        elif token.kind == "op" and token.text in stops and depth == 0:
            return
        stream.next()


def _read_slot(stream: TokenStream, name: str, name_token: Token) -> ValueSlot:
    """Reads the optional ``= value`` after a declared name; the cursor ends on ``,`` or ``;``."""
    text = stream.text
    if not stream.at("op", "="):
        return ValueSlot(name, None, name_token.end, name_token.end, line_of(text, name_token.start),
                         has_value=False)
    stream.next()
    first = stream.peek()
    if first is None:
        raise stream.error("expected a value")
    start_index = stream.index
    try:
        value = parse_expression(stream, magic=None)
        reason = None
    except UnsupportedValue as exc:
        value, reason = None, str(exc)
        stream.index = start_index
        _skip_expression(stream, (",", ";"))
    last = stream.tokens[stream.index - 1]
    return ValueSlot(name, value, first.start, last.end, line_of(text, first.start), reason)


def parse_class(text: str, tokens: list[Token], class_name: str) -> ClassBody | None:
    """The properties of ``class_name`` (case-insensitive, as PHP), or None if not declared."""
    stream = TokenStream(text, tokens)
    while (token := stream.peek()) is not None:
        stream.next()
        if (token.kind == "ident" and token.text.lower() == "class" and stream.at("ident")
                and stream.peek().text.lower() == class_name.lower()):
            name = stream.next().text
            while not stream.at("op", "{"):
                stream.next()   # extends / implements clauses
            return _parse_class_body(stream, name)
    return None


def _parse_class_body(stream: TokenStream, name: str) -> ClassBody:
    open_brace = stream.expect("op", "{")
    body = ClassBody(name, {}, [], [], -1, open_brace.end)
    while True:
        token = stream.peek()
        if token is None:
            raise stream.error(f"class {name} is never closed (missing '}}')")
        if token.kind == "op" and token.text == "}":
            body.close_brace = token.start
            stream.next()
            return body
        modifiers = set()
        while stream.at("ident") and stream.peek().text.lower() in _MODIFIERS:
            modifiers.add(stream.next().text.lower())
        if stream.at("ident", "const", fold=True) or stream.at("ident", "use", fold=True) or \
                stream.at("ident", "case", fold=True):
            _skip_to_statement_end(stream)
            continue
        if stream.at("ident", "function", fold=True):
            _scan_method(stream, body)
            continue
        if not modifiers:
            raise stream.error(f"unexpected {token.text!r} in class {name}")
        typed = False
        while not stream.at("variable"):
            step = stream.next()
            if step.kind not in ("ident", "op") or (step.kind == "op" and step.text not in "?|&()"):
                raise _stream_error(stream, step, f"unexpected {step.text!r} in a property declaration")
            typed = True
        while True:
            variable = stream.expect("variable", what="a property name")
            slot = _read_slot(stream, variable.text[1:], variable)
            visible = "static" not in modifiers and not modifiers & {"private", "protected"}
            if slot.name in body.properties or slot.name in body.other_properties:
                raise stream.error(f"class {name} declares ${slot.name} twice (PHP refuses that)")
            if not visible:
                body.other_properties.append(slot.name)
            elif typed and not slot.has_value:
                body.other_properties.append(slot.name)   # uninitialised typed property: not visible
            else:
                body.properties[slot.name] = slot
            if stream.at("op", ","):
                stream.next()
                continue
            end = stream.expect("op", ";", what="';' after the property")
            body.last_member_end = end.end
            break


def _stream_error(stream: TokenStream, token: Token, message: str) -> PhpParseError:
    return PhpParseError(f"line {line_of(stream.text, token.start)}: {message}")


def _scan_method(stream: TokenStream, body: ClassBody) -> None:
    """Skips a method, noting the properties it assigns (``$this->name = ...``)."""
    stream.next()  # function
    while not stream.at("op", "{") and not stream.at("op", ";"):
        stream.next()
    if stream.at("op", ";"):
        stream.next()
        return
    stream.next()
    depth = 1
    while depth:
        token = stream.next()
        if token.kind == "op" and token.text == "{":
            depth += 1
        elif token.kind == "op" and token.text == "}":
            depth -= 1
        elif (token.kind == "variable" and token.text == "$this" and stream.at("op", "->")
              and stream.peek(1) is not None and stream.peek(1).kind == "ident"
              and stream.peek(2) is not None and stream.peek(2).kind == "op"
              and stream.peek(2).text in ("=", ".=", "??=")):
            assigned = stream.peek(1).text
            if assigned not in body.assigned_in_code:
                body.assigned_in_code.append(assigned)


def parse_defines(text: str, tokens: list[Token]) -> dict[str, ValueSlot]:
    """``define('NAME', value)`` calls with a literal name (the first one wins, as in PHP)."""
    stream = TokenStream(text, tokens)
    found: dict[str, ValueSlot] = {}
    while (token := stream.peek()) is not None:
        stream.next()
        if not (token.kind == "ident" and token.text.lstrip("\\").lower() == "define" and stream.at("op", "(")):
            continue
        previous = stream.tokens[stream.index - 2] if stream.index >= 2 else None
        if previous is not None and previous.kind == "op" and previous.text in ("->", "::", "?->"):
            continue
        if previous is not None and previous.kind == "ident" and previous.text.lower() == "function":
            continue
        stream.next()
        try:
            name = parse_expression(stream)
        except PhpParseError:
            continue
        if not isinstance(name, str) or not stream.at("op", ","):
            continue
        stream.next()
        slot = _read_slot_expression(stream, name)
        if name not in found:
            found[name] = slot
    return found


def _read_slot_expression(stream: TokenStream, name: str) -> ValueSlot:
    first = stream.peek()
    if first is None:
        raise stream.error("expected a value")
    start_index = stream.index
    try:
        value = parse_expression(stream)
        if not stream.at("op", ")") and not stream.at("op", ","):
            raise stream.error("an operator other than '.' (string concatenation)", UnsupportedValue)
        last = stream.tokens[stream.index - 1]
        return ValueSlot(name, value, first.start, last.end, line_of(stream.text, first.start))
    except UnsupportedValue as exc:
        stream.index = start_index
        _skip_expression(stream, (",",))
        last = stream.tokens[stream.index - 1]
        return ValueSlot(name, None, first.start, last.end, line_of(stream.text, first.start), str(exc))


def parse_top_level_assignments(text: str, tokens: list[Token]) -> dict[str, ValueSlot]:
    """``$name = value;`` statements (the last one wins, as in PHP at the end of the file)."""
    stream = TokenStream(text, tokens)
    found: dict[str, ValueSlot] = {}
    depth = 0
    while (token := stream.peek()) is not None:
        stream.next()
        if token.kind == "op" and token.text in ("(", "[", "{"):
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            depth -= 1
        elif token.kind == "variable" and depth == 0 and stream.at("op", "="):
            previous = stream.tokens[stream.index - 2] if stream.index >= 2 else None
            if previous is not None and previous.kind == "op" and previous.text in ("->", "::", "$"):
                continue
            slot = _read_slot(stream, token.text[1:], token)
            if stream.at("op", ";"):
                found[slot.name] = slot
    return found


def tokenize_file(text: str, path: Path | str) -> list[Token]:
    try:
        return tokenize(text)
    except PhpParseError as exc:
        raise ConfigError(f"{path} is not valid PHP ({exc}); fix the file (php -l {path} shows the "
                          "problem)") from None
