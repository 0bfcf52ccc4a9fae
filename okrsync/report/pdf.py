"""HTML reports printed to PDF by headless Chromium (``--print-to-pdf``).

The HTML is self-contained (inline CSS and SVG, no scripts, no requests) and carries its own
print stylesheet (A4, 14 mm margins), so the PDF is what a browser's "Print to PDF" gives.
Chromium is found as ``$OKRSYNC_CHROMIUM``, else ``chromium``, ``chromium-browser`` or
``google-chrome`` on PATH; without it, PDF output is a usage error saying how to get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import ConfigError

NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 120  # seconds; a 25-tool fit report prints in about two


def chromium() -> str | None:
    return os.environ.get("OKRSYNC_CHROMIUM") or next(filter(None, map(shutil.which, NAMES)), None)


def html_to_pdf(html: str, out: Path) -> None:
    """Print ``html`` to the PDF file ``out``; ConfigError when that cannot be done."""
    binary = chromium()
    if binary is None:
        raise ConfigError("PDF output needs Chromium: install it (Debian: apt-get install chromium) or set "
                          "OKRSYNC_CHROMIUM to its path; or write HTML (--format html) and print it from a browser")
    with tempfile.TemporaryDirectory(prefix="okrsync-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        target = Path(tmp) / "report.pdf"
        flags = ["--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-pdf-header-footer", f"--user-data-dir={tmp}/profile",
                 f"--print-to-pdf={target}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
        try:
            done = subprocess.run([binary, *flags, page.as_uri()], capture_output=True, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ConfigError(f"PDF output: {binary} did not run: {e}") from None
        if not target.is_file() or target.stat().st_size == 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            raise ConfigError(f"PDF output: {binary} wrote no PDF ({tail[0]})")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, out)
