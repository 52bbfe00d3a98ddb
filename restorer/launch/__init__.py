"""How a restore starts: the bundle's ``installation/restore.py``, kickstart.pyz and their command lines."""

import sys
from typing import Callable

from restorer.errors import SitepackError


def exit_code(run: Callable[[], int]) -> int:
    """Runs a launcher's work the way every launcher reports it: a ``SitepackError`` is one
    ``error:`` line and Ctrl-C is ``stopped``, both exit 1; otherwise ``run``'s own code."""
    try:
        return run()
    except SitepackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 1
