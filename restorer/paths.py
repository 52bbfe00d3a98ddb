"""Where the Jinja2 templates live, whichever way sitepack was installed.

In the source tree and inside an extracted bundle, ``templates/`` sits beside the
``restorer/`` package directory. An installed wheel ships it as ``sitepack_templates``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def templates_dir() -> Path:
    sibling = Path(__file__).resolve().parent.parent / "templates"
    if sibling.is_dir():
        return sibling
    spec = importlib.util.find_spec("sitepack_templates")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    raise FileNotFoundError(
        "sitepack's templates folder is missing: expected it beside "
        f"{Path(__file__).resolve().parent} (reinstall sitepack or re-extract the archive)"
    )
