"""The errors sitepack reports to users.

Every error a user can cause (bad input, wrong password, damaged archive, unreachable
database) is a ``SitepackError`` whose message says what is wrong and what to do. The
command line prints it on one line and exits 1; the web UIs show it on the page.
Messages must never contain a secret.
"""


class SitepackError(Exception):
    """A failure with a message meant for the user."""


class ArchiveError(SitepackError):
    """The archive is damaged, truncated, of an unsupported kind or version."""


class MissingPartError(ArchiveError):
    """A part of a multi-part archive is missing or shorter than it must be."""


class WrongPasswordError(ArchiveError):
    """The password does not open this archive (or the installer)."""


class UnsafeEntryError(ArchiveError):
    """An entry would write outside the target or is of a kind never extracted."""


class TargetWriteError(SitepackError):
    """Extraction could not write into the target folder (full disk, permissions)."""


class DatabaseError(SitepackError):
    """The database refused a connection or a statement."""


class ConfigError(SitepackError):
    """A site configuration file is missing, unreadable or cannot be rewritten."""
