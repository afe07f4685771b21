"""The one pipeline every source goes through (capture files, live interfaces, trace logs).

:class:`Pipeline` runs the per-frame loop and the per-connection layer stacks
(:mod:`.connection`) and tells consumers what it decoded as :mod:`.events`.
"""

from . import events
from .connection import ConnectionSummary, TcpConnectionPipeline
from .core import Pipeline, Stats, load_tls_keys
from .events import Event, InputFinished, LogRecord, MessageDecoded, SessionFinished

# events.py cannot import core.py (core imports it): bind the name typing.get_type_hints
# needs for InputFinished.pipeline now that both modules are loaded.
vars(events)["Pipeline"] = Pipeline

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
