"""``__main__`` of ``kickstart.pyz``: run ``python3 kickstart.pyz [ARCHIVE] [DEST]``.

Inside the zip the restorer runtime sits as in ``installation/``: ``restorer/``,
``templates/``, ``vendor/``. Python imports pure-Python packages straight from the zip.
"""

import os
import sys

if sys.version_info < (3, 11):
    sys.exit("kickstart.pyz needs Python 3.11 or newer; this is "
             f"{sys.version.split()[0]}. Run it with python3.11 (or newer).")

_ZIP = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_ZIP, os.path.join(_ZIP, "vendor")]

from restorer.launch.kickstart import main  # noqa: E402  (the path must be set first)

if __name__ == "__main__":
    sys.exit(main())
