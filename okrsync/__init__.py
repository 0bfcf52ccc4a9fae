"""okrsync: a plugin-based sync hub between OKR tools.

Plugins write ``from okrsync import hookimpl, Connector``.
"""

from .connector import Capabilities, Connector, Context, Cursor, Note, ProbeResult, Record, Rejected, WriteBatch, WriteResult
from .hookspecs import hookimpl

__all__ = ["Capabilities", "Connector", "Context", "Cursor", "Note", "ProbeResult", "Record", "Rejected", "WriteBatch",
           "WriteResult", "hookimpl"]
__version__ = "0.1.0"
