"""sitepack's restore side: an archive read, extracted and its site restored, step by step.

Archive readers, extraction, database import, configuration rewriting, data replacement,
the restore session, the wizard and the launchers, one folder per job.

This package travels alone inside every site bundle (``installation/restorer``), so it
must never import ``packer``.
"""

__version__ = "0.1.0"

#: The oldest Python the restorer (bundle, kickstart, wizard, headless restore) runs on:
#: what Debian 11, RHEL 9 and Amazon Linux 2023 ship. Checked first thing by the entry
#: script and the kickstart; ``tests/test_python_versions.py`` checks the code against it.
MIN_PYTHON = (3, 9)


def python_too_old(what, version_info=None):
    """The message to stop with when this Python is older than ``MIN_PYTHON``, else None.

    Written for any Python 3 (no annotations, no f-strings): it must be able to say its
    piece on the old interpreter it refuses.
    """
    import sys
    version = tuple(version_info or sys.version_info)[:3]
    if version >= MIN_PYTHON:
        return None
    needed = ".".join(map(str, MIN_PYTHON))
    return ("%s needs Python %s or newer; this is %s. Run it with python%s or a newer "
            "python3 (your host's package, e.g. apt install python3 / dnf install python3)."
            % (what, needed, ".".join(map(str, version)), needed))
