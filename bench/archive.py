"""Archive benchmark: our formats against ``zip``/``unzip`` and ``tar``, in the same run.

Generates a tree (about 20k small PHP/text files plus 100 MB of incompressible data,
times ``--scale``), then times creation (``sitepack pack`` per format vs ``zip -r -q``
and ``tar czf``) and extraction (``sitepack extract`` vs ``unzip -q`` and ``tar xzf``),
each as a separate process whose peak RSS ``/usr/bin/time`` reports. Prints times, ratios to the peer, archive sizes and
peak RSS.

    python bench/archive.py [--scale 2] [--formats jpa,zip,jps,jps2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSWORD = "bench-password-not-secret"
SUFFIX = {"jpa": ".jpa", "zip": ".zip", "jps": ".jps", "jps2": ".jps"}

_WORDS = ("function", "return", "$this->", "array(", "public", "static", "echo", "if (",
          "foreach", "=> ", "null", "true", "'option'", "JFactory::getApplication()", "->get(",
          "/**", " * @param", "string", "$value", "Joomla\\CMS\\", "use ", "namespace ", ";\n",
          "{\n", "}\n", "    ", "\t", "<?php\n", "defined('_JEXEC') or die;\n")


def php_like(rng: random.Random, size: int) -> bytes:
    out = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS) + (rng.choice(("abc", "user", "item", "id", "name", "x")) if rng.random() < 0.3 else "")
        out.append(word)
        length += len(word)
    return "".join(out).encode()[:size]


def generate(root: Path, scale: int) -> tuple[int, int]:
    """The tree: 20k*scale small files in nested folders + 100 MB*scale incompressible."""
    rng = random.Random(42)
    files = 0
    total = 0
    vocabulary = [php_like(rng, 64 * 1024) for _ in range(8)]
    for i in range(20_000 * scale):
        folder = root / f"components/com_{i % 50}/src/{(i // 50) % 40}"
        folder.mkdir(parents=True, exist_ok=True)
        size = min(int(rng.lognormvariate(8.2, 1.0)), 60_000)
        source = vocabulary[i % len(vocabulary)]
        start = rng.randrange(0, len(source) - size) if size < len(source) else 0
        name = f"file{i}.php" if i % 4 else f"readme{i}.txt"
        (folder / name).write_bytes(source[start:start + size])
        files += 1
        total += size
    media = root / "images"
    media.mkdir(exist_ok=True)
    for i in range(10 * scale):
        data = os.urandom(10 * 1024 * 1024)
        (media / f"photo{i}.jpg").write_bytes(data)
        files += 1
        total += len(data)
    return files, total


def run(cmd: list, cwd: Path | None = None, env: dict | None = None) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one child process.

    The child is started by ``/usr/bin/time``: a child forked from this (larger) Python
    process would report this process's RSS as its own high-water mark. The time runs
    from a clean page cache (``sync`` first) until the child's own writes are on disk
    (``sync`` after): otherwise a tool pays for the writeback of the one before it and
    the ratios swing with the kernel's flushing.
    """
    with tempfile.NamedTemporaryFile("r") as rss_file:
        os.sync()
        started = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *map(str, cmd)],
                                cwd=cwd, env=env, stdout=subprocess.DEVNULL)
        os.sync()
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, cmd))} failed with {result.returncode}")
        return elapsed, int(rss_file.read().split()[-1])


def size_of(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply the tree size")
    parser.add_argument("--formats", default="jpa,zip,jps,jps2")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    parser.add_argument("--huge", action="store_true",
                        help="instead: one real round trip of a 4.5 GiB file (JPA 1.3, ZIP64)")
    args = parser.parse_args()
    if args.huge:
        huge_round_trip(args.keep)
        return
    formats = [f for f in args.formats.split(",") if f]
    work = args.keep or Path(tempfile.mkdtemp(prefix="sitepack-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    tree = work / "site"
    try:
        if not tree.exists():
            t = time.perf_counter()
            files, total = generate(tree, args.scale)
            print(f"tree: {files} files, {total / 1e6:.1f} MB (generated in {time.perf_counter() - t:.1f} s)")
        subprocess.run(["sync"], check=False)
        env = dict(os.environ, SITEPACK_BENCH_PASSWORD=PASSWORD)
        sitepack = [sys.executable, "-c", "from packer.cli import main; main()"]
        rows = []

        def record(label, kind, seconds, rss, size):
            rows.append((label, kind, seconds, rss, size))
            print(f"{kind:8} {label:12} {seconds:7.2f} s  {rss / 1024:7.1f} MiB RSS  "
                  f"{size / 1e6:8.1f} MB", flush=True)

        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        seconds, rss = run(["zip", "-r", "-q", out / "peer.zip", "."], cwd=tree)
        record("zip -r", "create", seconds, rss, (out / "peer.zip").stat().st_size)
        seconds, rss = run(["tar", "czf", out / "peer.tgz", "."], cwd=tree)
        record("tar czf", "create", seconds, rss, (out / "peer.tgz").stat().st_size)
        for fmt in formats:
            archive = out / f"ours-{fmt}{SUFFIX[fmt]}"
            cmd = sitepack + ["pack", tree, "-o", archive, "--format", fmt, "-q"]
            if fmt in ("jps", "jps2"):
                cmd += ["--password-env", "SITEPACK_BENCH_PASSWORD"]
            seconds, rss = run(cmd, env=env)
            record(f"sitepack {fmt}", "create", seconds, rss, archive.stat().st_size)
        for target in ("x-unzip", "x-tar"):
            shutil.rmtree(work / target, ignore_errors=True)
            (work / target).mkdir()
        seconds, rss = run(["unzip", "-q", out / "peer.zip", "-d", work / "x-unzip"])
        record("unzip", "extract", seconds, rss, 0)
        seconds, rss = run(["tar", "xzf", out / "peer.tgz", "-C", work / "x-tar"])
        record("tar xzf", "extract", seconds, rss, 0)
        for fmt in formats:
            target = work / f"x-{fmt}"
            shutil.rmtree(target, ignore_errors=True)
            cmd = sitepack + ["extract", out / f"ours-{fmt}{SUFFIX[fmt]}", target, "-q"]
            if fmt in ("jps", "jps2"):
                cmd += ["--password-env", "SITEPACK_BENCH_PASSWORD"]
            seconds, rss = run(cmd, env=env)
            record(f"sitepack {fmt}", "extract", seconds, rss, 0)
        print()
        by = {(kind, label): (seconds, rss, size) for label, kind, seconds, rss, size in rows}
        zip_time, _, zip_size = by[("create", "zip -r")]
        unzip_time = by[("extract", "unzip")][0]
        for fmt in formats:
            seconds, rss, size = by[("create", f"sitepack {fmt}")]
            x_seconds, x_rss, _ = by[("extract", f"sitepack {fmt}")]
            print(f"{fmt:5} create {seconds / zip_time:5.2f}x zip's time, size {size / zip_size:5.3f}x "
                  f"zip's; extract {x_seconds / unzip_time:5.2f}x unzip's time; peak RSS "
                  f"{max(rss, x_rss) / 1024:.0f} MiB")
        if "jpa" in formats and "jps" in formats:
            print(f"jps creation costs {by[('create', 'sitepack jps')][0] / by[('create', 'sitepack jpa')][0] - 1:+.0%} over jpa")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def huge_round_trip(keep: Path | None) -> None:
    """A file over 4 GiB through jpa and zip: pack, verify, extract, compare."""
    work = keep or Path(tempfile.mkdtemp(prefix="sitepack-huge-"))
    try:
        tree = work / "site"
        tree.mkdir(parents=True, exist_ok=True)
        size = 4 * 1024 ** 3 + 512 * 1024 ** 2
        with open(tree / "huge.bin", "wb") as handle:   # sparse, with data at both ends
            handle.write(os.urandom(1024 * 1024))
            handle.seek(size - 1024 * 1024)
            handle.write(os.urandom(1024 * 1024))
        (tree / "small.txt").write_text("small\n")
        sitepack = [sys.executable, "-c", "from packer.cli import main; main()"]
        for fmt in ("jpa", "zip"):
            archive = work / f"huge{SUFFIX[fmt]}"
            for step, cmd in (("pack", ["pack", tree, "-o", archive, "-q"]),
                              ("verify", ["verify", archive, "-q"]),
                              ("extract", ["extract", archive, work / f"x-{fmt}", "-q"])):
                seconds, rss = run(sitepack + cmd)
                print(f"{fmt} {step:8} {seconds:7.1f} s  {rss / 1024:6.1f} MiB RSS", flush=True)
            same = subprocess.run(["cmp", tree / "huge.bin", work / f"x-{fmt}" / "huge.bin"]).returncode == 0
            print(f"{fmt}: archive {archive.stat().st_size / 1e9:.2f} GB, extracted file identical: {same}")
            shutil.rmtree(work / f"x-{fmt}")
            archive.unlink()
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
