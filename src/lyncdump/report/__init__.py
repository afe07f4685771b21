"""The HTML report (``lyncdump report CAPTURE... -o report.html``): one self-contained file a
voice engineer opens from disk and attaches to a ticket (docs/report.md).

- :mod:`.data` turns a run's events into the document the page embeds (compact, JSON);
- :mod:`.roles` names hosts (client, Front End, Edge, AV MCU, peer) for the ladder's columns;
- :mod:`.html` renders the Jinja2 template with the page's script, style, the vendored chart
  library (uPlot) and the data inlined;
- ``static/report.js`` draws the views lazily in the browser.

:func:`build_report` is the library's way in; cli_report.py is the command's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from .data import ReportData
from .html import INSTALL_HINT, ReportDependencyError, render_html


def build_report(
    sources: Sequence[str | os.PathLike[str]],
    *,
    title: str | None = None,
    matches: Callable[[Any], bool] | None = None,
    merge: bool = False,
    log_hosts: Sequence[str] = (),
    filters: Sequence[tuple[str, str]] = (),
    **options: Any,
) -> str:
    """Decode ``sources`` and return the report page as text.

    Each source is decoded by a streaming run (:func:`lyncdump.stream`); with ``merge`` they
    are merged into one time line as they are read (captures with Lync trace logs,
    analysis/merge_stream.py; :meth:`ReportData.add_merged` is the keep-all way).
    ``matches`` chooses the sessions shown (and the media of their calls), ``filters``
    (``("user", "bob")``, as ``--filter``) the server-log diagnostics standing alone;
    ``log_hosts`` names the machine of each server log as ``--log-host`` does (``HOST`` or
    ``LOG=HOST``); keyword options are the fields of :class:`lyncdump.Options`. Raises
    :class:`~lyncdump.errors.LyncdumpError` for an input that cannot be read and
    :class:`ReportDependencyError` when Jinja2 is missing.
    """
    from ..api import stream
    from ..capture.logtypes import log_host_for

    require_jinja2()
    data = ReportData(redacted=bool(options.get("redact")))
    kwargs: dict[str, Any] = {"filters": filters}
    if matches is not None:
        kwargs.update(matches=matches, filtered=True)
    if merge:
        from ..analysis.merge_stream import MergedStream, open_pipelines
        from ..api import Options

        paths = [os.fspath(p) for p in sources]
        hosts = [log_host_for(p, log_hosts) or options.get("log_host") for p in paths]
        opts = [Options(**{**options, "log_host": host}) for host in hosts]
        pipelines = open_pipelines(paths, opts)
        quiet, held = (opts[0].session_quiet, opts[0].max_held_messages) if opts else (32.0, None)
        data.consume_merged(MergedStream(pipelines, quiet=quiet, max_held=held), **kwargs)
    else:
        for p in sources:
            host = log_host_for(os.fspath(p), log_hosts) or options.get("log_host")
            run = stream(
                os.fspath(p),
                messages=True,
                stun_messages=False,  # the report counts STUN messages, lists none
                **{**options, "log_host": host},
            )
            data.consume(run, **kwargs)
    return render_html(data.document(), title or default_title(sources))


def default_title(sources: Sequence[str | os.PathLike[str]]) -> str:
    """The inputs' file names, shortened."""
    names = [os.path.basename(os.fspath(p)) or os.fspath(p) for p in sources]
    text = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return text


def require_jinja2() -> None:
    """Raise :class:`ReportDependencyError` (one line saying what to install) without Jinja2."""
    try:
        import jinja2  # noqa: F401
    except ImportError as exc:
        raise ReportDependencyError(INSTALL_HINT) from exc


__all__ = [
    "INSTALL_HINT",
    "ReportData",
    "ReportDependencyError",
    "build_report",
    "default_title",
    "render_html",
    "require_jinja2",
]
