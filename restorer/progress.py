"""Progress for long work: a redrawn bar on a terminal, plain lines when piped.

One reporter serves every command (pack, extract, backup, restore). Callers say how far
they are; the reporter decides how often to draw, so hot loops may call ``update``
freely.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from restorer.extract.textsafe import shown_name

_PLAIN_INTERVAL = 2.0  # seconds between plain lines when output is not a terminal
_BAR_INTERVAL = 0.1
_BAR_WIDTH = 30


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Reports ``done`` out of ``total`` units (bytes unless ``unit`` says otherwise).

    ``total`` may be ``None`` (unknown) or change as estimates improve; the bar is
    allowed to move back.
    """

    def __init__(self, label: str, total: float | None = None, *, unit: str = "bytes",
                 stream: TextIO | None = None, enabled: bool = True):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0.0
        self.item = ""
        self._last_draw = 0.0
        self._started = time.monotonic()
        self._drawn_width = 0

    def _fmt_amount(self, n: float) -> str:
        return human_size(n) if self.unit == "bytes" else f"{n:.0f} {self.unit}"

    def update(self, done: float | None = None, *, advance: float = 0, item: str | None = None,
               total: float | None = None) -> None:
        if done is not None:
            self.done = done
        self.done += advance
        if item is not None:
            self.item = item
        if total is not None:
            self.total = total
        now = time.monotonic()
        interval = _BAR_INTERVAL if self.is_tty else _PLAIN_INTERVAL
        if self.enabled and now - self._last_draw >= interval:
            self._last_draw = now
            self._draw()

    def _percent(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(100.0, 100.0 * self.done / self.total))

    def _draw(self, final: bool = False) -> None:
        pct = self._percent()
        if self.unit == "%":  # the percentage says it all
            amount = ""
        else:
            amount = self._fmt_amount(self.done)
            if self.total:
                amount += f" / {self._fmt_amount(self.total)}"
        if self.is_tty:
            filled = int(_BAR_WIDTH * (pct or 0) / 100)
            bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
            pct_s = f"{pct:5.1f}%" if pct is not None else "  ?  %"
            item = shown_name(self.item)[-40:]   # escaped when drawn, not per update
            line = f"\r{self.label} [{bar}] {pct_s} {amount} {item}".replace("  ", " ")
            pad = max(0, self._drawn_width - len(line))
            self.stream.write(line + " " * pad)
            self._drawn_width = len(line)
            if final:
                self.stream.write("\n")
        else:
            words = [f"{pct:.1f}%" if pct is not None else "", amount,
                     shown_name(self.item) if self.item and not final else ""]
            self.stream.write(f"{self.label}: " + " ".join(w for w in words if w) + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line that must not be overdrawn (a warning, a finished part)."""
        if not self.enabled:
            return
        if self.is_tty and self._drawn_width:
            self.stream.write("\r" + " " * self._drawn_width + "\r")
            self._drawn_width = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(final=True)
        self.enabled = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
