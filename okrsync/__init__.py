"""okrsync: a plugin-based sync hub between OKR tools.

Plugins write ``from okrsync import hookimpl, Connector``.
"""

from .connector import Capabilities, Connector, Record, WriteBatch, WriteResult
from .hookspecs import hookimpl

__all__ = ["Capabilities", "Connector", "Record", "WriteBatch", "WriteResult", "hookimpl"]
__version__ = "0.1.0"
