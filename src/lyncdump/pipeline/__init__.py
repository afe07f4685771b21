"""The one pipeline every source goes through (capture files, live interfaces, trace logs).

:class:`Pipeline` runs the per-frame loop and the per-connection layer stacks
(:mod:`.connection`) and tells consumers what it decoded as :mod:`.events`.
"""

from .connection import ConnectionSummary, TcpConnectionPipeline
from .core import Pipeline, Stats, load_tls_keys
from .events import Event, InputFinished, LogRecord, MessageDecoded, SessionFinished

__all__ = [
    "ConnectionSummary",
    "Event",
    "InputFinished",
    "LogRecord",
    "MessageDecoded",
    "Pipeline",
    "SessionFinished",
    "Stats",
    "TcpConnectionPipeline",
    "load_tls_keys",
]
