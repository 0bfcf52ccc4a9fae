"""Open a local HTML file in headless Debian chromium and report what a person would see.

Chromium is driven over its DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so no port, no network and
no extra package. ``inspect`` returns console errors and exceptions, the charts' boxes,
a PDF rendering's size and a PNG screenshot; ``png_pixels`` decodes the PNG with zlib.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]
CHARTS = """JSON.stringify([...document.querySelectorAll('[data-chart]')].map(e => {
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return {chart: e.dataset.chart, width: r.width, height: r.height, visible: s.visibility === 'visible'
          && s.display !== 'none' && r.width > 0 && r.height > 0, shapes: e.querySelectorAll('rect,polyline,circle,td.cell').length};
}))"""

# Text a reader cannot see whole: a box whose content is wider or taller than the box (the
# page itself included), and SVG text that sticks out of its chart (clipped headers).
OVERFLOW = """JSON.stringify((() => {
  const out = [], say = (e, why) => out.push({tag: e.tagName, why, text: (e.textContent || '').trim().slice(0, 60)});
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) say(root, `page ${root.scrollWidth} > ${root.clientWidth} px wide`);
  for (const e of document.body.querySelectorAll('*')) {
    if (e.closest('svg') || !e.clientWidth) continue;  // inline boxes have no client size
    if (e.scrollWidth > e.clientWidth + 1) say(e, `scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth}`);
    if (e.scrollHeight > e.clientHeight + 1 && getComputedStyle(e).overflowY !== 'visible') say(e, 'taller than its box');
  }
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        say(t, `text outside its chart (${Math.round(r.left)}..${Math.round(r.right)} `
               + `in ${Math.round(box.left)}..${Math.round(box.right)})`);
    }
  }
  return out;
})())"""


ENV = "OKRSYNC_TEST_CHROMIUM"
MISSING = (f"no chromium to open the reports in: apt-get install chromium (as .ci/run does), or set {ENV} "
           "to a chromium binary")


def chromium() -> str | None:
    """The browser: ``$OKRSYNC_TEST_CHROMIUM`` when set (a path or a name on PATH; one that is not
    there, e.g. ``none``, means no browser: the browser tests skip), else Debian's chromium."""
    if ENV in os.environ:
        chosen = os.environ[ENV]
        return chosen if os.access(chosen, os.X_OK) and os.path.isfile(chosen) else shutil.which(chosen or "-")
    return shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if os.path.exists(p)), None)


class _Pipe:
    def __init__(self, binary: str, profile: str):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds() -> None:  # in the child: its fd 3 reads our commands, its fd 4 carries replies
            # copies first: a pipe end that already is fd 3 or 4 would keep its close-on-exec flag
            read_end, write_end = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 20) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}} | ({"sessionId": session} if session else {})
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 20) -> dict:
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            e = self._next(timeout)
            self.events.append(e)
            if e.get("method") == method:
                return e

    def _next(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def inspect(page: Path, binary: str, width: int = 1280, height: int = 900) -> dict:
    """Load ``page`` and return {errors, charts, overflow (on screen), print_overflow (with
    the print stylesheet at A4 width), png, pdf_bytes}."""
    with tempfile.TemporaryDirectory() as profile:  # a new, empty profile every time
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
            pipe.wait_for("Page.loadEventFired")
            charts = _evaluate(pipe, session, CHARTS)
            overflow = _evaluate(pipe, session, OVERFLOW)
            png = base64.b64decode(pipe.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
            pdf = base64.b64decode(pipe.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                                             session=session)["data"])
            # A4 less 14 mm margins is about 687 CSS px wide: lay the page out as the printer does
            pipe.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": 687, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            print_overflow = _evaluate(pipe, session, OVERFLOW)
        finally:
            pipe.close()
    errors = [e for e in pipe.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    return {"errors": errors, "charts": charts, "overflow": overflow, "print_overflow": print_overflow, "png": png,
            "pdf_bytes": len(pdf), "pdf": pdf}


def screenshot(page: Path, binary: str, out: Path, width: int = 1280, height: int = 900, scale: float = 0.6) -> None:
    """A small PNG of the top of ``page`` at ``width`` px, scaled (the README's reference shots)."""
    with tempfile.TemporaryDirectory() as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            pipe.send("Page.enable", session=session)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
            pipe.wait_for("Page.loadEventFired")
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
            out.write_bytes(base64.b64decode(pipe.send("Page.captureScreenshot", {"format": "png", "clip": clip},
                                                       session=session)["data"]))
        finally:
            pipe.close()


def _evaluate(pipe: _Pipe, session: str, expression: str):
    return json.loads(pipe.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                session=session)["result"]["value"])


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and not interlace, f"unsupported PNG: depth {depth}, colour type {colour}"
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        filt, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG filters (RFC 2083 §6)
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


if __name__ == "__main__":  # python -m tests.helpers.browser PAGE.html OUT.png
    import sys

    screenshot(Path(sys.argv[1]), chromium(), Path(sys.argv[2]))
