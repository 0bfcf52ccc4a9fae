"""The one HTTP layer every API connector shares: a client factory and one retry policy.

- ``new_client(base_url, auth=…)`` builds the ``httpx.Client`` a connector is handed:
  https only (plain http only to loopback, for local emulators), timeouts, a user agent,
  and a transport that retries only failed *connects* (the httpx advice); everything else
  is retried in exactly one place, below.
- ``check(response, endpoint)`` maps a response to the error tree: 429 and 5xx are
  ``RetryableError`` (with the server's ``Retry-After`` or ``X-RateLimit-Reset``), other
  4xx ``FatalError``; a body that is not the JSON it claims to be is retryable too
  (a truncated transfer).
- ``retrying(…)`` is the one tenacity policy: bounded attempts, jittered exponential
  back-off, and a server-given wait honoured exactly (never looping on 429 faster than
  asked). Tests pass ``sleep=lambda s: None`` to run instantly.

Secrets never reach messages: errors quote method, URL path and status, never headers.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from . import __version__
from .errors import ConfigError, FatalError, RetryableError

USER_AGENT = f"okrsync/{__version__} (+https://github.com/okrsync)"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_WAIT = 300.0  # a server asking for more than five minutes is treated as down


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, where: str) -> str:
    """Refuse plain http:// except to loopback; the message says which setting to fix."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{where}: {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{where}: plain http:// sends credentials in clear text; use https:// "
                          f"(http is allowed only to 127.0.0.1/localhost, for local emulators)")
    return url.rstrip("/")


def new_client(base_url: str, *, auth: httpx.Auth | None = None, where: str = "endpoint",
               transport: httpx.BaseTransport | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
    """The client a connector uses; ``transport`` lets tests inject a mock."""
    return httpx.Client(base_url=check_url(base_url, where), auth=auth, timeout=TIMEOUT,
                        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
                        transport=transport or httpx.HTTPTransport(retries=2))


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` (seconds or an HTTP date) or
    ``X-RateLimit-Reset`` (a unix time, as ClickUp sends; or seconds when it is small)."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                return None  # unreadable: fall back to our own back-off
    reset = response.headers.get("X-RateLimit-Reset")
    if reset:
        try:
            number = float(reset)
        except ValueError:  # Jira sends an ISO 8601 instant, e.g. 2026-11-25T13:41Z
            try:
                when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
            except ValueError:
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            return max(0.0, when.timestamp() - time.time())
        # a unix time (seconds or milliseconds) is far above any sane relative wait
        if number > 1e12:
            number /= 1000
        return max(0.0, number - time.time()) if number > 1e9 else number
    return None


def check(response: httpx.Response, endpoint: str) -> httpx.Response:
    """Raise the okrsync error a failed response stands for; return it when it succeeded."""
    request = response.request
    what = f"{request.method} {request.url.path} → {response.status_code}"
    if response.status_code == 429 or response.status_code >= 500:
        why = "rate limited" if response.status_code == 429 else "server error"
        raise RetryableError(f"{what} ({why})", endpoint=endpoint, retry_after=retry_after(response),
                             status=response.status_code)
    if response.status_code in (401, 403):
        error = FatalError(f"{what}: the credentials were refused or lack a permission; check the token "
                           "and its scopes (okrsync doctor)", endpoint=endpoint)
    elif response.status_code >= 400:
        error = FatalError(f"{what}: {_reason(response)}", endpoint=endpoint)
    else:
        return response
    error.status = response.status_code
    try:  # a connector may map per-record errors from it (Jira's bulk create)
        error.body = response.json()
    except ValueError:
        error.body = None
    raise error


def _reason(response: httpx.Response) -> str:
    """A short reason from an error body, without echoing anything that could be a secret."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "request refused"
    if isinstance(body, dict):
        for key in ("errorMessages", "errors", "message", "err", "error"):
            if body.get(key):
                text = body[key]
                if isinstance(text, dict) and text.get("message"):  # Google: {"error": {code, message, status}}
                    text = text["message"]
                return "; ".join(map(str, text)) if isinstance(text, list) else str(text)[:300]
    return response.reason_phrase or "request refused"


def json_body(response: httpx.Response, endpoint: str) -> Any:
    """The JSON of a successful response; a cut-off or garbled body is retryable."""
    try:
        return response.json()
    except ValueError:
        raise RetryableError(f"{response.request.method} {response.request.url.path}: the response body is not "
                             "complete JSON (cut off in transfer?)", endpoint=endpoint) from None


class _Wait:
    """Jittered exponential back-off, or exactly what the server asked for."""

    def __init__(self, base: float, cap: float):
        self.backoff = tenacity.wait_exponential_jitter(initial=base, max=cap)

    def __call__(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        if asked is not None:
            if asked > MAX_WAIT:
                raise error  # not worth waiting for in a batch run: fail with the server's reason
            return asked
        return self.backoff(state)


def _not_done(error: BaseException) -> bool:
    """Refused before any work was done: 429, and the 503s gateways send."""
    return isinstance(error, RetryableError) and error.status in (429, 503)


def retrying(*, attempts: int = 5, base: float = 1.0, cap: float = 30.0,
             sleep: Callable[[float], None] = time.sleep, on_retry: Callable[[], None] | None = None,
             replay_safe: bool = True) -> tenacity.Retrying:
    """The one retry policy: retries ``RetryableError`` (which network errors become), then
    re-raises the last one. ``on_retry`` is called before each wait (a counter).

    ``replay_safe=False`` is for requests that must not run twice (creates): only answers
    that say the work was not done are retried; a timeout or a cut-off answer is raised
    for the caller to find out what happened."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableError) if replay_safe else tenacity.retry_if_exception(_not_done),
        stop=tenacity.stop_after_attempt(attempts),
        wait=_Wait(base, cap),
        sleep=sleep,
        reraise=True,
        before_sleep=(lambda state: on_retry()) if on_retry else None,
    )


def request_json(client: httpx.Client, method: str, url: str, *, endpoint: str,
                 policy: tenacity.Retrying | None = None, before: Callable[[], None] | None = None,
                 **kwargs: Any) -> Any:
    """Send one request under the retry policy and return its JSON (None for 204).
    ``before`` runs before each attempt (pacing, counting)."""
    for attempt in policy or retrying():
        with attempt:
            if before:
                before()
            try:
                response = check(client.request(method, url, **kwargs), endpoint)
            except httpx.TransportError as e:  # timeouts, resets, refused connections
                raise RetryableError(f"{method} {urlsplit(url).path}: {type(e).__name__} (network)", endpoint=endpoint) from None
            return None if response.status_code == 204 or not response.content else json_body(response, endpoint)
    raise AssertionError("unreachable")  # tenacity either returned or re-raised


class Pacer:
    """Spaces requests evenly at ``rate`` per second across threads, so a tool's rate limit
    is never hit in the first place; ``hold(seconds)`` stops every thread when the server
    asked for a pause anyway (a 429 seen by one worker is news for all of them).

    ``wait(cost)`` is for a request the tool counts as ``cost`` (Asana's batch: one per
    action): it reserves that many slots in a row at once, so no other thread's request
    lands in between, and returns when the first of them is due. A thread that was asleep
    when a hold came queues again, behind the hold."""

    def __init__(self, rate: float | None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / rate if rate else 0.0
        self.sleep, self.clock = sleep, clock
        self._next = 0.0
        self._holds = 0  # how many holds so far: one placed while a thread slept is news for it
        self._lock = threading.Lock()

    def wait(self, cost: int = 1) -> None:
        while True:
            with self._lock:  # reserve the slots, then sleep outside the lock
                now = self.clock()
                slot = max(now, self._next)
                self._next = slot + self.interval * max(1, cost)
                holds = self._holds
            if slot <= now:
                return
            self.sleep(slot - now)
            with self._lock:
                if self._holds == holds:
                    return

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)
            self._holds += 1


class HeaderAuth(httpx.Auth):
    """An ``Authorization`` header of the tool's own kind (``API <token>``, a bare personal
    token); the value never appears in a repr."""

    def __init__(self, value: str):
        self._header = value

    def auth_flow(self, request):
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}(***)"


class BearerAuth(HeaderAuth):
    """``Authorization: Bearer <token>``; the token never appears in a repr."""

    def __init__(self, token: str):
        super().__init__(f"Bearer {token}")


class Api:
    """One connector's view of a remote API: a client, the retry policy, pacing and counts.

    ``call(method, url, json=…, params=…)`` returns the response's JSON (None for 204)
    after retries; ``take_counts()`` hands the requests sent and the retries made since
    the last call to the hub's run counters. Thread-safe: workers share one ``Api``.
    """

    def __init__(self, client: httpx.Client, endpoint: str, *, rate: float | None = None, attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep):
        self.client, self.endpoint, self.attempts, self.sleep = client, endpoint, attempts, sleep
        self.pacer = Pacer(rate, sleep)
        self._lock = threading.Lock()
        self.requests = self.retried = 0

    def _before(self, cost: int = 1) -> None:
        self.pacer.wait(cost)
        with self._lock:
            self.requests += 1

    def _on_retry(self, state: tenacity.RetryCallState) -> None:
        with self._lock:
            self.retried += 1
        asked = getattr(state.outcome.exception(), "retry_after", None) if state.outcome else None
        if asked:
            self.pacer.hold(asked)

    def call(self, method: str, url: str, *, replay_safe: bool = True, cost: int = 1, **kwargs: Any) -> Any:
        """``cost``: how many requests the tool counts this one as (paced as that many)."""
        policy = retrying(attempts=self.attempts, sleep=self.sleep, replay_safe=replay_safe)
        policy.before_sleep = self._on_retry
        return request_json(self.client, method, url, endpoint=self.endpoint, policy=policy,
                            before=lambda: self._before(cost), **kwargs)

    def take_counts(self) -> tuple[int, int]:
        with self._lock:
            counts, self.requests, self.retried = (self.requests, self.retried), 0, 0
        return counts

    def close(self) -> None:
        self.client.close()
