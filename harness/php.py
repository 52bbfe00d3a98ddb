"""Real PHP as the judge of what sitepack writes (configuration files, serialized data)."""

from __future__ import annotations

import json
import subprocess

from .system import ensure_debian_packages


def ensure_php() -> None:
    ensure_debian_packages({"php": "php-cli"})


def run_php(code: str, *, stdin: bytes | None = None, timeout: float = 60) -> str:
    """Runs ``php -r CODE`` and returns its standard output; raises with stderr on failure."""
    ensure_php()
    result = subprocess.run(["php", "-d", "display_errors=stderr", "-r", code], input=stdin,
                            capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"php failed ({result.returncode}):\n{result.stderr.decode(errors='replace')}"
                           f"\n{result.stdout.decode(errors='replace')}")
    return result.stdout.decode("utf-8")


def php_json(code: str, **kwargs):
    """Runs PHP code that ends by echoing ``json_encode(...)`` and decodes the result."""
    return json.loads(run_php(code, **kwargs))


def read_joomla_config(path) -> dict:
    """Loads a Joomla ``configuration.php`` with PHP and returns every public property."""
    code = (f"require {json.dumps(str(path))};"
            "echo json_encode(get_object_vars(new JConfig()), "
            "JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);")
    return php_json(code)
