"""The one rule for the archive password: an encrypted format needs one, a plain one takes none.

The engine applies it when a backup starts; the CLI (to ask on a terminal) and the web
UI (to warn before a backup) call the same function, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Callable

from restorer.errors import SitepackError

from ..archive import ENCRYPTED_FORMATS

#: How a user of each front end gives an archive password (the rule's error says it).
_HOW_TO_GIVE = {
    "cli": "give one with --password-env VAR or --password-file FILE, or store a default "
           "in the profile",
    "web": "type one in the Encryption key field, or store a default key in the profile",
    "pack": "give one with --password-env VAR or --password-file FILE",
}


def archive_password_for(fmt: str, given: str | None, default: str | None = None, *,
                         origin: str = "cli", ask: Callable[[], str] | None = None) -> str | None:
    """The archive password an archive in ``fmt`` is written with.

    ``given``: the password the user gave for this archive; ``default``: the profile's
    stored one; ``ask``: how to ask for one when neither is there (a terminal prompt),
    or ``None``. Raises ``SitepackError`` saying what to do when an encrypted format has
    no password, or when a password was given for a format that is not encrypted (it
    would protect nothing, and the user believes it does).
    """
    if fmt not in ENCRYPTED_FORMATS:
        if given:
            raise SitepackError(
                f"the {fmt} format is not encrypted: drop the archive password or choose an "
                f"encrypted format ({' or '.join(ENCRYPTED_FORMATS)})")
        return None
    password = given or default
    if not password and ask is not None:
        password = ask()
    if not password:
        raise SitepackError(f"the {fmt} format encrypts the archive and needs an archive "
                            f"password: {_HOW_TO_GIVE[origin]}")
    return password


def missing_password(fmt: str, default: str | None, *, origin: str = "cli") -> str | None:
    """What the rule says of a backup in ``fmt`` started with no password given (the
    profile's ``default`` only), or ``None`` when it may start: tells a front end whether
    its key field must be filled."""
    try:
        archive_password_for(fmt, None, default, origin=origin)
    except SitepackError as exc:
        return str(exc)
    return None
