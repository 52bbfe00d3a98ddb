"""Starts the restore wizard or a headless restore from an extracted site bundle.

Copied into every full backup as ``installation/restore.py``; run it with
``python3 installation/restore.py wizard`` (or ``restore --answers FILE``). It needs
nothing installed: the ``restorer`` package and its pure-Python dependencies
(``vendor/``) travel beside it.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
# Our copies come first so the versions the bundle was tested with are the ones used.
sys.path[:0] = [_HERE, os.path.join(_HERE, "vendor")]

import restorer  # noqa: E402  (only its version rule: nothing else is imported yet)

_TOO_OLD = restorer.python_too_old("The sitepack restorer")
if _TOO_OLD:
    sys.exit(_TOO_OLD)

from restorer.launch.cli import main  # noqa: E402  (the path must be set first)

if __name__ == "__main__":
    sys.exit(main())
