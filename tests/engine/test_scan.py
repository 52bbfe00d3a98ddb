import os

from packer.filters import Filters
from packer.scan import DIR, FILE, LINK, EntryList, Scanner, dir_identity


def _tree(root):
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.txt").write_text("deep")
    (root / "a" / "one.txt").write_text("1")
    (root / "cache").mkdir()
    (root / "cache" / "junk.txt").write_text("junk")
    (root / "empty").mkdir()
    (root / "out").mkdir()
    (root / "out" / "old.jpa").write_text("archive")
    (root / "z.php").write_text("<?php")
    (root / "error_log").write_text("log")
    os.symlink("a/one.txt", root / "link")
    os.mkfifo(root / "fifo")


def _scan(root, list_path, state=None, deadline=float("inf"), excluded=()):
    warnings = []
    scanner = Scanner(root, list_path, Filters.for_site({}, site_root=root), set(excluded), state)
    done = scanner.run(deadline, warnings.append, lambda m: None)
    return scanner, done, warnings


def test_scan_lists_kept_entries_in_order(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    _tree(root)
    listing = tmp_path / "scan.list"
    scanner, done, warnings = _scan(root, listing, excluded=[dir_identity(root / "out")])
    assert done and warnings == []
    scanner.close()
    entries = list(EntryList(listing))
    assert [(e.kind, e.path) for e in entries] == [
        (DIR, "a"), (DIR, "cache"), (DIR, "empty"), (LINK, "link"), (FILE, "z.php"),
        (DIR, "a/b"), (FILE, "a/one.txt"), (FILE, "a/b/deep.txt")]
    link = next(e for e in entries if e.kind == LINK)
    assert link.target == "a/one.txt"
    assert scanner.files == 3 and scanner.bytes == len("<?php") + 1 + 4


def test_scan_resumes_in_slices_without_duplicates(tmp_path):
    root = tmp_path / "site"
    for i in range(30):
        d = root / f"d{i:02d}" / "inner"
        d.mkdir(parents=True)
        (d / "f.txt").write_text(str(i))
    whole = tmp_path / "whole.list"
    _scan(root, whole)
    sliced = tmp_path / "sliced.list"
    state = None
    rounds = 0
    while True:
        scanner, done, _ = _scan(root, sliced, state, deadline=0)  # one directory per slice
        state = scanner.state()
        # a killed process may have appended lines after the saved state: resume cuts them
        scanner._out.write(b'{"garbage": true}\n')
        scanner.close()
        rounds += 1
        if done:
            break
    assert rounds > 30
    with open(sliced, "r+b") as fh:
        fh.truncate(state["offset"])
    assert sliced.read_bytes() == whole.read_bytes()


def test_unreadable_directory_is_a_warning(tmp_path):
    root = tmp_path / "site"
    (root / "locked").mkdir(parents=True)
    listing = tmp_path / "scan.list"
    scanner = Scanner(root, listing, Filters.for_site({}, site_root=root), set())
    warnings = []
    # a directory that vanished between listing its parent and listing it
    scanner.stack.append("gone")
    scanner.run(float("inf"), warnings.append, lambda m: None)
    assert warnings == ["cannot read directory gone: No such file or directory (its contents are skipped)"]
