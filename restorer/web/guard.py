"""The gate both web apps share (the restore wizard and the backup UI): login throttle,
one-time login token, CSRF check, secure session cookie and security headers.

CSRF: every request that may change something (any method but GET, HEAD, OPTIONS) must
send back the session's token, in the form field ``csrf_token`` or, for the pages'
``fetch`` calls, the ``X-CSRF-Token`` header; otherwise it is refused with 403 before
any handler runs. Each app words the refusal in its own frame (a page or JSON).

Throttle policy (docs/SECURITY.md, "The gate"): a password guess is *counted* (a slot
reserved under a lock) before the slow hash runs, so parallel requests cannot check
more guesses than the ceilings allow. In any 60 seconds one remote address gets at most
10 checked guesses (the first 5 never wait, so a few typos cost nothing) and all
addresses together at most 30; a guess over a ceiling is refused without running the
hash. A success forgives that address's earlier guesses (the owner who mistyped starts
afresh) but stays counted in the total, because its hash did run. The one-time login
token printed on the server's terminal bypasses the throttle: the owner always has a
way in that no attacker can block.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface

WINDOW_SECONDS = 60.0
PER_ADDRESS_PER_WINDOW = 10
TOTAL_PER_WINDOW = 30
# Addresses kept before stale ones are swept: bounded anyway by TOTAL_PER_WINDOW new
# addresses a minute, since a guess refused by the total ceiling leaves no entry.
_SWEEP_ABOVE = 256


class LoginThrottle:
    """Sliding-window ceilings on checked password guesses, per address and in total."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._total: collections.deque[float] = collections.deque()
        self._by_address: dict[str, collections.deque[float]] = {}

    def _expire(self, times: collections.deque[float], now: float) -> None:
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()

    def reserve(self, address: str) -> int:
        """Counts one guess from ``address``: 0 when it may be checked, else seconds to wait."""
        with self._lock:
            now = self._clock()
            self._expire(self._total, now)
            if len(self._by_address) > _SWEEP_ABOVE:
                for key in [k for k, times in self._by_address.items()
                            if not times or times[-1] <= now - WINDOW_SECONDS]:
                    del self._by_address[key]
            mine = self._by_address.setdefault(address, collections.deque())
            self._expire(mine, now)
            if len(mine) >= PER_ADDRESS_PER_WINDOW:
                return math.ceil(mine[0] + WINDOW_SECONDS - now)
            if len(self._total) >= TOTAL_PER_WINDOW:
                return math.ceil(self._total[0] + WINDOW_SECONDS - now)
            mine.append(now)
            self._total.append(now)
            return 0

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._by_address.pop(address, None)

    def check(self, address: str, verify: Callable[[], bool]) -> bool | int:
        """``True``/``False`` from ``verify`` (run only within the ceilings), else the wait in seconds."""
        wait = self.reserve(address)
        if wait:
            return max(wait, 1)
        if verify():
            self.succeeded(address)
            return True
        return False


def too_many_attempts(wait: int) -> str:
    return (f"Too many login attempts: wait {wait} seconds, then try again (or open the "
            f"one-time login URL printed on the server's terminal).")


class OneTimeToken:
    """A random token valid for exactly one successful login (only its hash is kept)."""

    def __init__(self) -> None:
        self.value: str | None = secrets.token_urlsafe(32)
        self._digest = hashlib.sha256(self.value.encode("ascii")).digest()
        self._used = False
        self._lock = threading.Lock()

    def forget(self) -> str:
        """Returns the token for printing once and drops the server's plain copy."""
        value, self.value = self.value, None
        return value

    def consume(self, candidate: str) -> bool:
        """True for the right token the first time only."""
        digest = hashlib.sha256(candidate.encode("utf-8")).digest()
        with self._lock:
            if self._used or not hmac.compare_digest(digest, self._digest):
                return False
            self._used = True
            return True


CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_REFUSED = 403
CSRF_REFUSAL = ("The form's security token is missing or out of date (CSRF check failed): "
                "reload the page and try again.")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """The session's CSRF token (made on first use; a login clears the session, so a
    logged-in session always has a token of its own)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_refusal() -> str | None:
    """Why this request may not change anything (``CSRF_REFUSAL``), or None when it may."""
    if request.method in _SAFE_METHODS:
        return None
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    expected = session.get("csrf") or ""
    # Compared as bytes: a token with non-ASCII characters is simply wrong, never an error.
    if expected and hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        return None
    return CSRF_REFUSAL


class SessionInterface(SecureCookieSessionInterface):
    """Signed cookie session whose cookie is ``Secure`` whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or bool(app.config.get("SESSION_COOKIE_SECURE"))


# Scripts and styles only from this server or carrying this response's nonce: a value
# that slipped past escaping could not run script, and no other site may frame a page.
_CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'")


def csp_nonce() -> str:
    """This response's nonce, for the inline ``<script>``/``<style>`` a template carries."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _secure_headers(response):
    response.headers["Content-Security-Policy"] = _CSP.format(nonce=csp_nonce())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask, cookie_name: str) -> None:
    """Session cookie (HttpOnly, SameSite=Strict, Secure over https), the headers above, and
    ``csrf_token()``/``csp_nonce()`` for the templates (the app calls ``csrf_refusal``)."""
    app.session_interface = SessionInterface()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_NAME=cookie_name)
    app.after_request(_secure_headers)
    app.jinja_env.globals.update(csp_nonce=csp_nonce, csrf_token=csrf_token)
