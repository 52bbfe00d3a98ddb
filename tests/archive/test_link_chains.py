"""Symlink chains: whatever order an archive's links come in, none may lead out of the target.

Each link alone can look harmless when it is written (``rootfs -> c/d/e/b/../..`` while
``c/d/e/b`` is still a plain folder); a link written later changes where it leads
(``c/d/e/b -> ../../..`` makes ``rootfs`` resolve two levels above the target). The
oracle is the real file system: after the extraction, successful or refused, every link
left in the target must resolve (``os.path.realpath``) inside it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from restorer.errors import UnsafeEntryError
from restorer.extract.extractor import extract
from restorer.formats.base import EntryType
from tests.archive.test_extract import craft_jpa

LINK = EntryType.SYMLINK
FILE = EntryType.FILE
#: The issue's archive: a link through a folder that a later link turns into the root.
ISSUE_CHAIN = [("rootfs", "c/d/e/b/../.."), ("c/d/e/b", "../../..")]

_NAMES = st.sampled_from(["a", "b", "rootfs", "c/b", "c/d/b", "c/d/e/b", "x/y"])
_TARGETS = st.lists(st.sampled_from(["..", "a", "b", "c", "d", "e", "x", "y", "rootfs", "."]),
                    min_size=1, max_size=7).map("/".join)
_CHAINS = st.lists(st.tuples(_NAMES, _TARGETS), min_size=1, max_size=6, unique_by=lambda link: link[0])


def _links_left_outside(root: Path) -> list[str]:
    """Links in ``root`` that the system resolves outside it, in the worst case: a missing
    folder on the way is made (the site could make it later) and resolution tried again;
    a loop (ELOOP) or a file on the way (ENOTDIR) leads nowhere."""
    real_root = os.path.realpath(root)

    def inside(path: str) -> bool:
        return path == real_root or path.startswith(real_root + os.sep)

    outside = []
    for path in [os.path.join(folder, name) for folder, dirs, files in os.walk(root) for name in dirs + files]:
        if not os.path.islink(path):
            continue
        for _ in range(50):
            try:
                if not inside(os.path.realpath(path, strict=True)):
                    outside.append(os.path.relpath(path, root))
                break
            except OSError as error:
                if error.errno != errno.ENOENT:
                    break  # ELOOP, ENOTDIR: the link leads nowhere
                if not inside(error.filename):
                    outside.append(os.path.relpath(path, root))
                    break
                os.makedirs(error.filename)
    return outside


def _extract_chain(chain: list[tuple[str, str]], workdir: Path) -> Exception | None:
    archive = craft_jpa(workdir / "links.jpa", [(name, LINK, 0o120777, target.encode())
                                               for name, target in chain]
                        + [("index.html", FILE, 0o100644, b"site")])
    try:
        extract(archive, workdir / "site")
    except UnsafeEntryError as refused:
        return refused
    return None


@pytest.mark.proof("security", "symlink chains in random orders (loops included) try to make a "
                               "link resolve outside the extraction folder")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(chain=ISSUE_CHAIN)
@example(chain=list(reversed(ISSUE_CHAIN)))
@example(chain=[("a", "b"), ("b", "a"), ("rootfs", "a/../..")])
@given(chain=_CHAINS)
def test_no_link_chain_resolves_outside_the_target(proof, chain):
    proof.cases += 1
    with tempfile.TemporaryDirectory(prefix="chains-") as work:
        workdir = Path(work)
        (workdir / "site").mkdir()
        _extract_chain(chain, workdir)
        assert _links_left_outside(workdir / "site") == []


def test_the_issue_chain_is_refused_naming_the_link(tmp_path):
    refused = _extract_chain(ISSUE_CHAIN, tmp_path)
    assert str(refused) == ("refusing symlink 'rootfs': with the archive's other links it points "
                            "outside the target folder (removed)")
    assert not os.path.lexists(tmp_path / "site" / "rootfs")


def test_the_kickstart_refuses_the_issue_chain(tmp_path, capsys):
    from restorer.launch.kickstart import main
    archive = craft_jpa(tmp_path / "links.jpa", [(name, LINK, 0o120777, target.encode())
                                                for name, target in ISSUE_CHAIN])
    assert main([str(archive), str(tmp_path / "site"), "--no-wizard"]) == 1
    assert "refusing symlink 'rootfs'" in capsys.readouterr().err
    assert _links_left_outside(tmp_path / "site") == []


def test_a_loop_is_not_an_escape(tmp_path):
    assert _extract_chain([("a", "b"), ("b", "a")], tmp_path) is None
    assert os.readlink(tmp_path / "site" / "a") == "b"
