"""The library's front door: ``lyncdump.open(path)`` gives a :class:`Capture` to ask questions of.

A :class:`Capture` is the consumer of the pipeline (lyncdump/pipeline) that keeps everything,
so that any question about the whole capture can be answered: it runs once, lazily, on the
first question asked. :func:`stream` is the other way in: the pipeline's events as they
happen, each session once it is finished, in memory that follows what is open rather than the
length of the capture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from .analysis.calls import Call
from .analysis.diagnostics import DiagnosticIndex
from .analysis.ice import Allocation, IceSession
from .analysis.im import Conversation
from .analysis.registration import Registration
from .analysis.sessions import Session
from .capture import open_input
from .capture.logtypes import LogEvent
from .capture.source import CaptureReader
from .errors import CaptureError
from .media.pipeline import MediaPipeline
from .media.stats import StreamStats
from .media.stun import StunMessage
from .model import DefectLog, Endpoint
from .options import Options
from .pipeline import (
    ConnectionSummary,
    Event,
    MessageDecoded,
    Pipeline,
    SessionFinished,
    Stats,
    load_tls_keys,
)
from .pipeline.core import follows_keys
from .sip.message import SipMessage
from .streaming import open_stream
from .tls.keys import TlsKeys

# The result types above are imported for real, not under TYPE_CHECKING, so that
# typing.get_type_hints(Capture.calls) and friends resolve.

Source = str | os.PathLike[str] | BinaryIO


class Capture:
    """One capture file (or stream, or trace log) and everything decoded from it.

    Construction opens the input and checks its format (and the key files); decoding happens
    on the first call to :meth:`messages`, :meth:`sessions`, :meth:`run` and friends. A
    capture that ends in error (truncated, unknown link type) keeps what was decoded before
    the error in ``error``.
    """

    def __init__(self, source: Source | CaptureReader, options: Options | None = None) -> None:
        self.options = options or Options()
        for key in self.options.srtp_keys:
            from .media.srtp import parse_key as parse_srtp_key

            parse_srtp_key(key)  # a key that cannot be used fails here, never printed
        if isinstance(source, (str, os.PathLike)):
            self.name = os.fspath(source)
        else:
            self.name = str(getattr(source, "name", "<stream>"))
        # A reader object (live capture) is used as given; a trace log is told by its content.
        self._reader = (
            source
            if isinstance(source, CaptureReader)
            else open_input(source, log_host=self.options.log_host)
        )
        self.format: str = self._reader.format
        try:
            self.tls_keys: TlsKeys = load_tls_keys(
                self.options,
                getattr(self._reader, "secrets", None),
                follow=follows_keys(self._reader),
            )
        except BaseException:
            self._reader.close()
            raise
        self._pipeline = Pipeline(
            self._reader, self.options, name=self.name, tls_keys=self.tls_keys
        )
        self._messages: list[SipMessage] = []
        self._sessions: list[Session] = []
        self._calls: list[Call] | None = None
        self._done = False

    # -- results of the run (valid once it ran) ----------------------------------------------
    @property
    def stats(self) -> Stats:
        """Counts over the whole run (the ``--summary`` view)."""
        return self._pipeline.stats

    @property
    def defects(self) -> DefectLog:
        """Everything in the input that did not follow its protocol (bounded; see DefectLog)."""
        return self._pipeline.defects

    @property
    def connections(self) -> list[ConnectionSummary]:
        """Each TCP connection: endpoints, what it carried, compression, TLS."""
        return self._pipeline.connections

    @property
    def error(self) -> CaptureError | None:
        """The error that ended reading early (truncated file, unknown link type), if any."""
        return self._pipeline.error

    @property
    def log_events(self) -> list[LogEvent]:
        """Diagnostic and component records of a Lync trace log (empty for captures)."""
        return self._pipeline.log_events

    @property
    def log_host(self) -> tuple[Endpoint | None, str] | None:
        """A server log's machine, shown as its messages' local side, and what named it."""
        return self._pipeline.log_host

    @property
    def media(self) -> MediaPipeline | None:
        """The media side of the run (STUN/TURN/ICE, RTP/RTCP); None for trace logs."""
        return self._pipeline.media

    # -- questions -------------------------------------------------------------------------
    def run(self) -> Capture:
        """Decode the whole capture once; later calls return at once."""
        if not self._done:
            self._done = True
            messages = self._messages
            sessions = self._sessions
            for event in self._pipeline.events():
                if type(event) is MessageDecoded:
                    messages.append(event.message)
                elif type(event) is SessionFinished:
                    sessions.append(event.session)
            # TCP messages complete when their last byte arrives, which a flush can make late.
            messages.sort(key=lambda m: m.frame or 0)
        return self

    def messages(self) -> list[SipMessage]:
        """Every SIP message, in capture order (by the frame that completed it)."""
        self.run()
        return self._messages

    def sessions(self) -> list[Session]:
        """SIP messages grouped by Call-ID, with transactions matched and a kind each."""
        self.run()
        return self._sessions

    def registrations(self) -> list[Registration]:
        """Each sign-in (REGISTER session) analysed: schemes, round trips, identity, cause."""
        from .analysis.registration import registrations

        return registrations(self.sessions())

    def conversations(self) -> list[Conversation]:
        """Each IM session as a conversation: messages, typing, delivery status."""
        from .analysis.im import conversations

        return conversations(self.sessions())

    def stun_messages(self) -> list[StunMessage]:
        """Every STUN/TURN message (relayed ones inside TURN too), in capture order."""
        self.run()
        media = self._pipeline.media
        stun = media.stun_started if media is not None else None
        return stun.messages if stun is not None else []

    def streams(self) -> list[StreamStats]:
        """Every RTP stream (source, destination, SSRC) with its quality, by first packet,
        each joined to its call (``call_id``, ``join_rule``, ``candidate_calls``)."""
        self._joined_calls()
        return self._pipeline.streams()

    def calls(self) -> list[Call]:
        """Each INVITE dialog as a call joined to its media: offer/answer, ICE, TURN, streams."""
        return list(self._joined_calls())

    def _joined_calls(self) -> list[Call]:
        """The join runs once: it settles which call each stream belongs to."""
        if self._calls is None:
            from .analysis.calls import build_calls

            self.run()
            self._calls = build_calls(
                self.sessions(),
                self._pipeline.streams(),
                self.ice_sessions(),
                self.allocations(),
            )
        return self._calls

    def allocations(self) -> list[Allocation]:
        """TURN allocations (RFC 5766 and MS-TURN) with their addresses, peers and media."""
        self.run()
        return self._pipeline.allocations()

    def ice_sessions(self) -> list[IceSession]:
        """ICE connectivity checks per ufrag pair, candidate pairs and the nominated one."""
        self.run()
        return self._pipeline.ice_sessions()

    def diagnostics(self) -> DiagnosticIndex:
        """A server log's diagnostic records joined to their sessions (docs/tracelog.md)."""
        self.run()
        return self._pipeline.diagnostics()

    # -- conversions (lyncdump/export; docs/export.md) --------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The ``capture`` record of docs/json.md: totals, connections, defects."""
        from .render.json import capture_to_dict

        return capture_to_dict(self.run())

    def to_arrow(self, table: str) -> Any:
        """One table (``messages``, ``sessions``, ``calls``, ``streams``, ``stun``,
        ``registrations``, ``im``, ``defects``, ``connections``, ``captures``) as a
        ``pyarrow.Table`` with the documented types; needs ``lyncdump[data]``."""
        from .export.tables import arrow_table, capture_rows

        return arrow_table(table, capture_rows(self.run(), table))

    def to_pandas(self, table: str) -> Any:
        """One table (see :meth:`to_arrow`) as a pandas DataFrame: nullable integers, UTC
        timestamps, ip and port columns; needs ``lyncdump[data]``."""
        from .export.tables import to_pandas

        return to_pandas(self.to_arrow(table))

    def close(self) -> None:
        """Close the input (decoding closes it too, when it reaches the end)."""
        self._reader.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(source: Source, **options: object) -> Capture:  # noqa: A001 - mirrors builtins.open on purpose
    """Open a capture or a Lync trace log (path, ``"-"`` for stdin, or a binary file object)
    for analysis; which one is told from the content (docs/tracelog.md).

    Keyword options are the fields of :class:`Options`. Raises :class:`CaptureError` when the
    input is not a capture lyncdump can read.
    """
    return Capture(source, Options(**options))  # type: ignore[arg-type]


def analyze(source: Source, **options: object) -> Capture:
    """Open and decode in one call (``open(...).run()``)."""
    return open(source, **options).run()


def stream(
    source: Source | CaptureReader,
    *,
    messages: bool = False,
    stun_messages: bool = True,
    **options: object,
) -> Iterator[Event]:
    """Decode an input as a stream of events, keeping only what is still open.

    Yields :class:`~lyncdump.pipeline.SessionFinished` for each session once it has been quiet
    for ``session_quiet`` seconds of capture time (an answered call waits for its BYE),
    :class:`~lyncdump.pipeline.LogRecord` for trace-log diagnostics, every
    :class:`~lyncdump.pipeline.MessageDecoded` when ``messages`` is true, and last one
    :class:`~lyncdump.pipeline.InputFinished` whose ``pipeline`` holds the totals, connections,
    defects and media results. Sessions come in the order they finish. Keyword options are
    the fields of :class:`Options`; a bad input or key file raises before the first event.

    The STUN/TURN messages are written to a temporary spool once settled, for the
    pipeline's ``stun_messages()`` to give back at the end (``--json`` lists them);
    ``stun_messages=False`` only counts them, for consumers that do not list them.
    """
    # The run itself lives in streaming.py, where the command line starts it without loading
    # the result types this module names.
    # Every session is built and yielded (counting mode is for the command line's --summary).
    return open_stream(
        source,
        messages=messages,
        stun_messages=stun_messages,
        count_sessions=False,
        **options,
    )


__all__ = [
    "Capture",
    "ConnectionSummary",
    "Options",
    "Stats",
    "analyze",
    "open",
    "stream",
]
