"""What a site bundle carries so it can restore itself without sitepack installed.

Every full backup's ``installation/`` holds the restorer runtime: the whole ``restorer``
package, the templates the wizard renders, the pure-Python dependencies under
``vendor/`` and the entry script ``restore.py``. ``runtime_files()`` lists them as
(path inside ``installation/``, source file); the backup engine embeds them and
``build_kickstart()`` packs the same set into a single ``kickstart.pyz``.

Compiled dependencies are left out on purpose: a bundle is restored on hosts whose
Python version and CPU we do not know. ``cryptography`` is only needed to extract
encrypted archives (the kickstart says how to install it when missing); ``bcrypt``
is replaced by the restorer's own pure-Python bcrypt when the host lacks it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import restorer
from restorer.bundle import ENTRY_SCRIPT
from restorer.paths import templates_dir

# Pure-Python packages the wizard needs at run time (flask and what flask imports). Their
# releases are pinned in pyproject.toml to ones whose Requires-Python admits the oldest
# Python the restorer runs on (restorer.MIN_PYTHON); tests/test_python_versions.py checks.
VENDORED_PACKAGES = ("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click",
                     "blinker", "pymysql")
# Template folders the wizard renders (the backup UI's templates stay behind).
WIZARD_TEMPLATE_DIRS = ("wizard",)
KICKSTART_MAIN = "__main__.py"

_COMPILED_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".pyc", ".pyo", ".c", ".h")
_SKIPPED_DIRS = {"__pycache__"}


def _tree(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            if name.endswith(_COMPILED_SUFFIXES):
                continue
            source = Path(dirpath) / name
            rel = source.relative_to(root).as_posix()
            yield f"{prefix}/{rel}", source


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the Python package {name!r} is not installed; "
                           f"reinstall sitepack (pip install -e .) so the bundle can carry it")
    return Path(next(iter(spec.submodule_search_locations)))


def _dist_info(name: str) -> Iterator[tuple[str, Path]]:
    """The package's ``*.dist-info`` metadata and licence files, beside it in ``vendor/``.

    They record which release travels in the bundle (name, version, Requires-Python), in
    the standard place ``importlib.metadata`` and pip read from, and carry the licences.
    """
    dist = importlib.metadata.distribution(name)
    for file in dist.files or ():
        parts = file.parts
        if len(parts) >= 2 and parts[0].endswith(".dist-info") and (
                parts[1] == "METADATA" or parts[1] in ("licenses", "LICENSE", "LICENSE.txt", "LICENSE.rst")):
            yield f"vendor/{file.as_posix()}", Path(dist.locate_file(file))


def vendored_versions() -> dict[str, str]:
    """The release of each package vendored into bundles, by distribution name."""
    return {name: importlib.metadata.version(name) for name in VENDORED_PACKAGES}


def runtime_files() -> Iterator[tuple[str, Path]]:
    """(path relative to ``installation/``, source file) for the whole restorer runtime."""
    restorer_dir = Path(restorer.__file__).resolve().parent
    yield from _tree(restorer_dir, "restorer")
    templates = templates_dir()
    for folder in WIZARD_TEMPLATE_DIRS:
        if (templates / folder).is_dir():
            yield from _tree(templates / folder, f"templates/{folder}")
    # Shared templates (base layout, styles) sit directly in templates/.
    for source in sorted(templates.iterdir()):
        if source.is_file() and not source.name.endswith(_COMPILED_SUFFIXES):
            yield f"templates/{source.name}", source
    for name in VENDORED_PACKAGES:
        yield from _tree(_package_dir(name), f"vendor/{name}")
        yield from _dist_info(name)
    yield ENTRY_SCRIPT, restorer_dir / "launch" / "bundle_entry.py"


def build_kickstart(out: Path) -> Path:
    """Writes ``out`` (e.g. ``kickstart.pyz``): the restorer runtime as one runnable file.

    Inside, the files sit exactly as in ``installation/`` (so the kickstart can copy
    itself into a directory extracted from an Akeeba archive) plus ``__main__.py``,
    which runs ``restorer.launch.kickstart.main()``. Written to a temporary name and renamed.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".kickstart-", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with open(tmp, "wb") as raw:
            raw.write(b"#!/usr/bin/env python3\n")
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                restorer_dir = Path(restorer.__file__).resolve().parent
                zf.write(restorer_dir / "launch" / "pyz_main.py", KICKSTART_MAIN)
                for arcname, source in runtime_files():
                    zf.write(source, arcname)
        tmp.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP
                  | stat.S_IROTH | stat.S_IXOTH)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
