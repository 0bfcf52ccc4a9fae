"""The vendor-neutral base of every API emulator: real HTTP on 127.0.0.1, faults on demand.

A vendor emulator subclasses ``Emulator``, keeps its state in plain attributes and marks
handler methods with ``@route(METHOD, PATH_REGEX)``::

    class Tiny(Emulator):
        @route("GET", r"/things/(?P<id>\\d+)")
        def get_thing(self, req):
            return 200, {"id": req.params["id"]}

    with Tiny() as api:                       # started on a free port, stopped on exit
        httpx.get(api.url + "/things/7")
        api.faults.inject("503")              # the next request answers 503 and does nothing
        api.faults.rate = 5                   # token bucket: 429 + Retry-After beyond 5 req/s
        assert api.count("GET", "/things") == 1

Contract of a handler: it runs holding ``self.lock`` (one state change at a time, so
tests may read state between requests without races), gets a ``Request`` and returns
``(status, body)`` or ``(status, body, headers)``; ``body`` is JSON-able, ``None`` for
no body, or ``bytes`` sent as they are (a file download). ``raise HttpError(status, message)`` answers an error in the vendor's shape
(``error_body``). An exception escaping a handler answers 500 and is kept in
``self.errors`` so a test can tell an emulator bug from a connector bug.

With ``spec`` set (a ``tests/spec_check.SpecCheck``, or a vendor's subclass), every request
a handler answers, and its answer, is checked against the vendor's spec (``check_spec``);
a mismatch is kept in ``spec_errors`` and fails the ``with`` block that ran the emulator, so
an end-to-end test cannot pass on traffic the real API would refuse or never send.

A request takes ``cost(req)`` tokens of the rate limit (default 1; a vendor that counts the
actions of a batch overrides it).

Order of processing per request: latency → rate limit (429; the request is not run) →
queued fault (see ``Faults.inject``) → authorization (401) → route (404/405) → handler.
"""

from __future__ import annotations

import json
import math
import re
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("429", "500", "502", "503", "timeout", "truncate", "malformed", "reset")
PAGE_FAULTS = ("repeat", "skip", "expire")
NO_RESPONSE = 0  # Hit.status when the connection was dropped without an answer


@dataclass
class Hit:
    """One request as the server saw it. ``status`` is what was sent (``0``: nothing was,
    the connection was dropped); ``t`` is ``time.monotonic()`` at arrival; ``fault`` names
    the injected fault or rate limit that answered instead of (or after) the handler."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    t: float
    fault: str | None = None
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class HttpError(Exception):
    """Raised by a handler to answer an error; ``body=None`` means the vendor's error shape
    built by ``Emulator.error_body(status, message)``."""

    def __init__(self, status: int, message: str = "", *, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {message}")
        self.status, self.message, self.body, self.headers = status, message, body, headers or {}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route regex

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeatable, comma-separable query parameter (``fields=a,b&fields=c``)."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]

    def json(self) -> Any:
        """The JSON body; a missing or malformed one is the client's error (400)."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise HttpError(400, "The request body is not valid JSON.") from None


def route(method: str, pattern: str) -> Callable:
    """Mark an ``Emulator`` method as the handler of ``method`` on paths fully matching ``pattern``."""
    def mark(fn: Callable) -> Callable:
        fn._route = (method.upper(), pattern)
        return fn
    return mark


class PageExpired(Exception):
    """Raised by ``Faults.page``: the emulator answers its vendor's expired-token error."""


@dataclass
class _Injected:
    kind: str
    times: int
    method: str | None
    path: re.Pattern | None
    apply_then_fail: bool


class Faults:
    """Failure switches; every attribute may be changed while the server runs.

    - ``latency``: seconds added before every response.
    - ``rate`` / ``burst``: a token bucket of ``burst`` (default: ``rate``) tokens refilled
      at ``rate`` per second; a request takes ``Emulator.cost(req)`` of them (1 unless the
      vendor counts otherwise). One finding too few answers 429 with ``Retry-After`` (whole
      seconds, at least 1), takes none and is not executed. ``None`` disables the limit.
    - ``hang``: how long a ``timeout`` fault holds the connection before dropping it.
    - ``retry_after``: the wait (seconds) an injected ``429`` asks for in its headers.
    - ``inject(kind, …)``: one-shot faults, see there.
    """

    def __init__(self) -> None:
        self.latency = 0.0
        self.rate: float | None = None
        self.burst: float | None = None
        self.hang = 2.0
        self.retry_after = 1  # the wait an injected 429 asks for (whole seconds)
        self._queue: list[_Injected] = []
        self._pages: list[str] = []
        self.page_log: list[tuple[str, int]] = []  # (page fault, offset asked) as they happened
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._bucket: tuple[float, float] | None = None  # (rate, capacity) the tokens were counted for
        self._last = 0.0

    def inject(self, kind: str, times: int = 1, *, method: str | None = None, path: str | None = None,
               apply_then_fail: bool = False) -> None:
        """Make the next ``times`` requests matching ``method`` and ``path`` (a regex matched at
        the start of the path, so a plain prefix works) fail with ``kind``:

        - ``"429"``, ``"500"``, ``"502"``, ``"503"``: that status, with the vendor's error body
          (429 also with the rate-limit headers);
        - ``"timeout"``: hold the connection ``hang`` seconds, then drop it unanswered;
        - ``"truncate"``: the headers with the full ``Content-Length``, half the body, close;
        - ``"malformed"``: a 200 (or the executed request's status) whose body has its full
          length but is not JSON (the first and last bytes garbled, the rest as it was);
        - ``"reset"``: drop the connection at once (TCP RST), no response.

        The request is not executed, so state does not change — unless ``apply_then_fail``:
        then it is executed first and only its response is lost or replaced (the server did
        the work; a client retrying blindly creates duplicates). Faults queue in order.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._queue.append(_Injected(kind, times, method.upper() if method else None,
                                         re.compile(path) if path else None, apply_then_fail))

    def inject_page(self, kind: str, times: int = 1) -> None:
        """Make the next ``times`` page turns of a listing (any page after the first) go wrong:

        - ``"repeat"``: the page before the one asked for is served again, and the one after
          it comes next (nothing is lost, one page is seen twice);
        - ``"skip"``: the page after the one asked for is served instead (one page is never
          seen: what an offset listing does when records before it were deleted meanwhile);
        - ``"expire"``: the page token (or offset) is refused as expired, in the vendor's shape.

        Emulators with paged listings call ``page(start, size)`` for each page they serve.
        """
        if kind not in PAGE_FAULTS:
            raise ValueError(f"unknown page fault {kind!r}; one of {', '.join(PAGE_FAULTS)}")
        with self._lock:
            self._pages.extend([kind] * times)

    def page(self, start: int, size: int) -> int:
        """Where the page asked for at ``start`` really starts (the next one starts ``size``
        after that); raises ``PageExpired`` for an ``expire`` fault. The first page is never
        faulted."""
        if start <= 0 or not self._pages:
            return start
        with self._lock:
            kind = self._pages.pop(0) if self._pages else None
        self.page_log.append((kind, start))
        if kind == "expire":
            raise PageExpired(start)
        if kind == "repeat":
            return max(0, start - size)
        if kind == "skip":
            return start + size
        return start

    def pending(self) -> int:
        """How many injected failures are still to happen."""
        with self._lock:
            return sum(f.times for f in self._queue) + len(self._pages)

    def clear(self) -> None:
        """Back to a healthy server: no latency, no rate limit, nothing queued."""
        with self._lock:
            self._queue.clear()
            self._pages.clear()
            self.latency, self.rate, self.burst, self._bucket = 0.0, None, None, None

    def _take(self, method: str, path: str) -> _Injected | None:
        with self._lock:
            for fault in self._queue:
                if (fault.method in (None, method)) and (fault.path is None or fault.path.match(path)):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._queue.remove(fault)
                    return fault
        return None

    def _admit(self, cost: int = 1) -> int | None:
        """Take ``cost`` tokens; None when admitted, else the whole seconds until there are
        enough (a refused request takes none)."""
        rate = self.rate
        if not rate:
            return None
        capacity = float(self.burst or rate)
        with self._lock:
            now = time.monotonic()
            if self._bucket != (rate, capacity):  # new or changed limit: start with a full bucket
                self._bucket, self._tokens, self._last = (rate, capacity), capacity, now
            self._tokens = min(capacity, self._tokens + (now - self._last) * rate)
            self._last = now
            if self._tokens >= cost:
                self._tokens -= cost
                return None
            return max(1, math.ceil((cost - self._tokens) / rate))


class Emulator:
    """Base of the vendor emulators: see the module docstring. Subclasses override
    ``authorize``, ``error_body`` and ``rate_limit_headers`` to speak their vendor's dialect."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.lock = threading.RLock()  # held by handlers and by state helpers
        self.log: list[Hit] = []
        self.errors: list[str] = []  # tracebacks of handler crashes (emulator bugs)
        self.spec: Any = None  # a SpecCheck: every exchange is checked against it
        self.spec_errors: list[str] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern, Callable]] = []
        for name in dir(type(self)):
            fn = getattr(type(self), name)
            if callable(fn) and hasattr(fn, "_route"):
                method, pattern = fn._route
                self._routes.append((method, re.compile(pattern), getattr(self, name)))

    # -- life cycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Emulator:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping on latency or a timeout fault
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.spec_errors and exc[0] is None:
            raise AssertionError(f"{len(self.spec_errors)} exchange(s) off the vendor's spec, the first: "
                                 f"{self.spec_errors[0]}")

    # -- the request log ---------------------------------------------------------------

    def count(self, method: str | None = None, path_prefix: str | None = None, status: int | None = None) -> int:
        """How many logged requests match all the given filters."""
        with self._log_lock:
            return sum(1 for h in self.log if (method is None or h.method == method.upper())
                       and (path_prefix is None or h.path.startswith(path_prefix))
                       and (status is None or h.status == status))

    def reset_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    def _record(self, hit: Hit) -> None:
        with self._log_lock:
            self.log.append(hit)

    # -- vendor dialect (override) -----------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        """Whether the request's credentials are accepted (default: no auth)."""
        return True

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def rate_limit_headers(self, wait: int) -> dict[str, str]:
        return {"Retry-After": str(wait)}

    def check_spec(self, req: Request, status: int, body: Any) -> None:
        """Check one exchange against ``spec`` (raise its SpecMismatch); rate limits and
        server errors are the emulator's own and not checked."""
        sent = json.loads(req.body) if req.body else None
        query = {k: (v if len(v) > 1 else v[0]) for k, v in req.query.items()}
        self.spec.request(req.method, req.path, sent, query)
        if status < 500 and status != 429:
            self.spec.response(req.method, req.path, status, body)

    def _checked(self, req: Request, answer: tuple[int, Any, dict[str, str]]) -> tuple[int, Any, dict[str, str]]:
        if self.spec is not None and answer[0] not in (401,):
            try:
                self.check_spec(req, answer[0], answer[1])
            except AssertionError as e:  # SpecMismatch: kept, the answer still goes out
                self.spec_errors.append(f"{req.method} {req.path}: {e}")
        return answer

    def cost(self, req: Request) -> int:
        """How many tokens of the rate limit a request takes (default: one)."""
        return 1

    # -- dispatch ----------------------------------------------------------------------

    def _respond(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        """Authorize, route and run one request; always returns a response triple."""
        return self._checked(req, self._run(req))

    def _run(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        try:
            if not self.authorize(req.headers):
                raise HttpError(401, "Client must be authenticated to access this resource.")
            allowed = []
            for method, pattern, handler in self._routes:
                match = pattern.fullmatch(req.path)
                if not match:
                    continue
                if method != req.method:
                    allowed.append(method)
                    continue
                req.params = match.groupdict()
                with self.lock:
                    result = handler(req)
                status, body, *rest = result
                return status, body, rest[0] if rest else {}
            if allowed:
                raise HttpError(405, f"Method {req.method} is not allowed here.", headers={"Allow": ", ".join(allowed)})
            raise HttpError(404, f"No resource {req.path}.")
        except HttpError as e:
            body = e.body if e.body is not None else self.error_body(e.status, e.message)
            return e.status, body, e.headers
        except Exception:  # an emulator bug: answer like a failing server, keep the evidence
            self.errors.append(traceback.format_exc())
            return 500, self.error_body(500, "Internal server error (emulator bug, see .errors)."), {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging handler must not keep stop() or the test run waiting
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    """Turns one HTTP exchange into ``Emulator._respond`` plus the faults; owns the bytes."""

    emulator: Emulator
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API client expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):  # the client went away (killed, timed out)
            self.close_connection = True

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _handle(self) -> None:
        emu = self.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers,
                      self.rfile.read(length) if length else b"")
        hit = Hit(req.method, req.path, req.query, NO_RESPONSE, time.monotonic(), body=req.body)
        faults = emu.faults
        if faults.latency:
            emu._stopping.wait(faults.latency)
        wait = faults._admit(emu.cost(req)) if faults.rate else None
        if wait is not None:
            hit.fault = "rate"
            return self._answer(hit, 429, emu.error_body(429, "Rate limit exceeded."), emu.rate_limit_headers(wait))
        injected = faults._take(req.method, req.path)
        response = emu._respond(req) if injected is None or injected.apply_then_fail else None
        if injected is None:
            return self._answer(hit, *response)
        hit.fault = injected.kind
        self._fail(hit, injected.kind, response)

    def _answer(self, hit: Hit, status: int, body: Any, headers: dict[str, str], *, cut: bool = False,
                garble: bool = False) -> None:
        raw = isinstance(body, bytes)  # a file's bytes (a download), sent as they are
        data = b"" if body is None else bytes(body) if raw else json.dumps(body, separators=(",", ":")).encode()
        if garble:  # full length, not JSON: an HTML error page's first byte, a stray byte at the end
            data = b"<" + data[1:-1] + b"\xff" if len(data) > 2 else b"<\xff"
        self.send_response(status)
        if data and not raw:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        hit.status = status
        self.emulator._record(hit)  # before the client can see the answer: a test reading the log next must find it
        self.end_headers()
        if cut:  # promise the whole body, deliver half, hang up
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
        else:
            self.wfile.write(data)

    def _fail(self, hit: Hit, kind: str, response: tuple[int, Any, dict[str, str]] | None) -> None:
        emu = self.emulator
        if kind in ("429", "500", "502", "503"):
            status = int(kind)
            headers = emu.rate_limit_headers(emu.faults.retry_after) if status == 429 else {}
            return self._answer(hit, status, emu.error_body(status, "Injected failure."), headers)
        if kind == "truncate":
            # not executed: a successful-looking answer we can cut; long enough to be cut mid-JSON
            status, body, headers = response or (200, {"note": "truncated response", "pad": "x" * 200}, {})
            if body is not None:
                return self._answer(hit, status, body, headers, cut=True)
            kind = "reset"  # an executed request without a body (204) cannot be cut: lose it whole
        if kind == "malformed":
            status, body, headers = response or (200, {"note": "malformed response", "pad": "x" * 200}, {})
            return self._answer(hit, status if body is not None else 200, body if body is not None else {"note": "x"},
                                headers, garble=True)
        emu._record(hit)
        if kind == "timeout":
            emu._stopping.wait(emu.faults.hang)
        else:  # reset: SO_LINGER 0 makes close() send RST instead of an orderly FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
