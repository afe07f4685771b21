"""What a pipeline run tells its consumers, in the order it happens (h11-style events).

A consumer iterates :meth:`lyncdump.pipeline.Pipeline.events` and takes what it needs:
the live view prints each :class:`MessageDecoded`, NDJSON writes each
:class:`SessionFinished` and forgets it, :class:`lyncdump.Capture` keeps everything. The run
ends with one :class:`InputFinished`, after which the pipeline's results (statistics,
connections, defects, media) are final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

# Imported for real so typing.get_type_hints resolves the events' fields; Pipeline (a cycle:
# core imports this module) is bound here by pipeline/__init__.py once both are loaded.
from ..analysis.sessions import Session
from ..capture.logtypes import LogEvent
from ..sip.message import SipMessage

if TYPE_CHECKING:
    from .core import Pipeline


@dataclass(frozen=True, slots=True)
class MessageDecoded:
    """One SIP message, the moment it was decoded (TCP completes messages out of frame order)."""

    message: SipMessage


@dataclass(frozen=True, slots=True)
class SessionFinished:
    """A session that will get no more messages: quiet for the run's quiet span (or the input
    ended). Its messages are in frame order with their transactions matched. ``pipeline`` is
    the run that emitted it (what a consumer joining calls asks how far the run has got)."""

    session: Session
    pipeline: Pipeline | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """A diagnostic or component record of a Lync trace log (not a SIP message)."""

    event: LogEvent


@dataclass(frozen=True, slots=True)
class InputFinished:
    """The input is read to its end (or to an error, in ``pipeline.error``); every session
    has been emitted and the pipeline's results are final."""

    pipeline: Pipeline


Event = MessageDecoded | SessionFinished | LogRecord | InputFinished

__all__ = ["Event", "InputFinished", "LogRecord", "MessageDecoded", "SessionFinished"]
