"""Names from an archive shown on a terminal or a page (control characters escaped), and
written into tab-separated lines.

An entry name is whatever the archive's maker wrote, and a terminal obeys the escape
sequences in what it prints (``\\x1b]0;…`` retitles the window, ``\\x1b[2J`` clears the
screen, others rewrite what was shown before). ``shown_name`` is the one place that
makes a name harmless to print: every C0 control, DEL and C1 control becomes a ``\\xNN``
escape, a backslash stays as it is, printable Unicode is kept.
"""

from __future__ import annotations

import json
import re

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def shown_name(name: str) -> str:
    """``name`` with its control characters written as ``\\xNN``."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", name)


#: Characters that would break a tab-separated line (or be read as a quoted name).
_NEEDS_QUOTING = re.compile(r'[\t\n\r]|^"')


def tab_field(name: str) -> str:
    """``name`` as the field of a tab-separated line (the backup's scan list, the
    manifest): as it is, or JSON-quoted when it holds a tab, a line break or a
    leading quote."""
    return json.dumps(name, ensure_ascii=False) if _NEEDS_QUOTING.search(name) else name


def from_tab_field(field: str) -> str:
    """The name ``tab_field`` wrote (``ValueError`` for a damaged quoted one)."""
    return json.loads(field) if field[:1] == '"' else field
