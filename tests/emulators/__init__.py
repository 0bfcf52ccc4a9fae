"""Local HTTP emulators of the vendor APIs okrsync talks to (tests and benchmarks only).

``server`` is the vendor-neutral base (real HTTP on 127.0.0.1, a request log, a routing
table, rate limits and injectable faults); one module per vendor builds on it.
"""

from .server import Emulator, Faults, Hit, HttpError, PageExpired, Request, route

__all__ = ["Emulator", "Faults", "Hit", "HttpError", "PageExpired", "Request", "route"]
