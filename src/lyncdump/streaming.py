"""The streaming run behind :func:`lyncdump.stream`, without the rest of the API.

:mod:`lyncdump.api` imports every result type it names (``Capture.calls`` returns
``list[Call]``...) so that ``typing.get_type_hints`` resolves them, and with them the call,
IM and sign-in analyzers. The command line streams: it starts here, and a capture without
calls never loads the call analysis (issue 14, start-up).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from .capture import open_input
from .capture.source import CaptureReader
from .options import Options
from .pipeline import Event, Pipeline, load_tls_keys
from .pipeline.core import follows_keys


def open_stream(
    source: Any,
    *,
    messages: bool = False,
    stun_messages: bool = True,
    count_sessions: bool = False,
    **options: object,
) -> Iterator[Event]:
    """:func:`lyncdump.stream` (its docstring says what the events are). ``count_sessions``:
    the consumer reads no session but calls, and the totals only once the input has ended
    (``--summary``): the run may count the other sessions instead of emitting them
    (``Pipeline``'s counting mode)."""
    opts = Options(**options)  # type: ignore[arg-type]
    reader = (
        source if isinstance(source, CaptureReader) else open_input(source, log_host=opts.log_host)
    )
    try:
        keys = load_tls_keys(opts, getattr(reader, "secrets", None), follow=follows_keys(reader))
    except BaseException:
        reader.close()
        raise
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    pipeline = Pipeline(
        reader,
        opts,
        name=name,
        streaming=True,
        messages=messages,
        tls_keys=keys,
        stun_messages=stun_messages,
        count_sessions=count_sessions,
    )
    return pipeline.events()


__all__ = ["open_stream"]
