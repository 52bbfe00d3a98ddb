"""``python3 installation/restore.py wizard|restore``: the restorer's own command line.

It runs inside an extracted bundle, where only the standard library and the vendored
packages exist, so it uses ``argparse``. The site root is the folder holding
``installation/``. ``sitepack wizard`` and ``sitepack restore`` call the same functions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from restorer.errors import SitepackError
from restorer.launch import exit_code
from restorer.restore.answers import WIZARD_DEFAULTS

_SITE_ROOT = Path(__file__).resolve().parents[3]


def load_answers(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SitepackError(f"cannot read the answers file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SitepackError(f"the answers file {path} is not valid JSON: {exc}") from None


def main(argv: list[str] | None = None, site_root: Path | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="restore.py", description="Restore the site this installation/ folder came with.")
    sub = parser.add_subparsers(dest="command", required=True)
    wiz = sub.add_parser("wizard", help="start the restore wizard in a web browser")
    wiz.add_argument("--host", default=WIZARD_DEFAULTS.host,
                     help="address to listen on (only 127.0.0.1 unless the backup has an installer password)")
    wiz.add_argument("--port", type=int, default=WIZARD_DEFAULTS.port,
                     help=f"port to listen on (0 = any free port; default {WIZARD_DEFAULTS.port})")
    wiz.add_argument("--step-seconds", type=float, default=WIZARD_DEFAULTS.step_seconds,
                     help=f"seconds of work per request of the progress bars (default {WIZARD_DEFAULTS.step_seconds:g})")
    wiz.add_argument("--retries", type=int, default=WIZARD_DEFAULTS.retries,
                     help=f"automatic retries of a failed request (default {WIZARD_DEFAULTS.retries})")
    wiz.add_argument("--retry-seconds", type=int, default=WIZARD_DEFAULTS.retry_seconds,
                     help=f"seconds to wait before a retry (default {WIZARD_DEFAULTS.retry_seconds})")
    wiz.add_argument("--cert", type=Path, help="HTTPS certificate (PEM); beyond 127.0.0.1 a self-signed "
                                               "one is made without it")
    wiz.add_argument("--key", type=Path, help="the private key of --cert (PEM)")
    wiz.add_argument("--insecure-http", action="store_true",
                     help="serve plain HTTP beyond 127.0.0.1 (passwords cross the network in clear)")
    head = sub.add_parser("restore", help="restore without a browser, with every answer in a JSON file")
    head.add_argument("--answers", required=True, type=Path, help="the answers file (see README)")
    for command in (wiz, head):
        command.add_argument("--private-dir", type=Path, default=None,
                             help="the restore's private folder, if the extraction was given one")
    args = parser.parse_args(argv)
    root = Path(site_root) if site_root else _SITE_ROOT

    def run() -> int:
        if args.command == "wizard":
            from restorer.wizard import serve
            serve(root, host=args.host, port=args.port, step_seconds=args.step_seconds,
                  retry_count=args.retries, retry_seconds=args.retry_seconds,
                  cert=args.cert, key=args.key, insecure_http=args.insecure_http,
                  private_dir=args.private_dir)
            return 0
        from restorer.restore.session import run_headless
        return run_headless(root, load_answers(args.answers), lambda line: print(line, flush=True),
                            private_dir=args.private_dir)

    return exit_code(run)
