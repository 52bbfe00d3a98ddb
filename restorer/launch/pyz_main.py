"""``__main__`` of ``kickstart.pyz``: run ``python3 kickstart.pyz [ARCHIVE] [DEST]``.

Inside the zip the restorer runtime sits as in ``installation/``: ``restorer/``,
``templates/``, ``vendor/``. Python imports pure-Python packages straight from the zip.
"""

import os
import sys

_ZIP = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_ZIP, os.path.join(_ZIP, "vendor")]

import restorer  # noqa: E402  (only its version rule: nothing else is imported yet)

_TOO_OLD = restorer.python_too_old("kickstart.pyz")
if _TOO_OLD:
    sys.exit(_TOO_OLD)

from restorer.launch.kickstart import main  # noqa: E402  (the path must be set first)

if __name__ == "__main__":
    sys.exit(main())
