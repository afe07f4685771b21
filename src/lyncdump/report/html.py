"""The report as one HTML file: the Jinja2 template with its script, style, chart library and
data inlined, so it opens from disk anywhere with no network (docs/report.md).

The page's Content-Security-Policy forbids every fetch (``default-src 'none'``): even a
capture that carried a URL in a SIP header cannot make the browser load anything. Capture text
reaches the page only inside the JSON document (escaped by data.to_json) and is put into the
DOM by report.js as text, never as markup.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, TextIO

from ..errors import LyncdumpError
from .data import json_chunks, to_json

#: What to install when Jinja2 is missing (the ``report`` extra).
INSTALL_HINT = "the report needs Jinja2: pip install 'lyncdump[report]'"


class ReportDependencyError(LyncdumpError):
    """An optional dependency of the report is not installed."""


def _asset(*parts: str) -> str:
    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


#: Where the data goes in the rendered template (a text no template or capture holds: the
#: capture's text is never in the template, and NUL cannot be in the page's own text).
_DATA_MARK = "\x00lyncdump-report-data\x00"


def _frame(title: str, version: str) -> tuple[str, str]:
    """The page before and after its data: the Jinja2 template with its script, style and
    chart library."""
    try:
        import jinja2
    except ImportError as exc:
        raise ReportDependencyError(INSTALL_HINT) from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template("report.html.j2")
    page = template.render(
        title=title,
        version=version,
        data_json=_DATA_MARK,
        report_js=_asset("static", "report.js"),
        report_css=_asset("static", "report.css"),
        uplot_js=_asset("vendor", "uPlot.iife.min.js"),
        uplot_css=_asset("vendor", "uPlot.min.css"),
        uplot_license=_asset("vendor", "uPlot.LICENSE"),
    )
    head, mark, tail = page.partition(_DATA_MARK)
    if not mark or _DATA_MARK in tail:  # the template must place the data once
        raise RuntimeError("the report template does not hold the data exactly once")
    return head, tail


def render_html(document: dict[str, Any], title: str) -> str:
    """The whole page for ``document`` (ReportData.document())."""
    head, tail = _frame(title, document.get("version", ""))
    return head + to_json(document) + tail


def write_html(document: dict[str, Any], title: str, handle: TextIO) -> None:
    """Write the page :func:`render_html` returns to ``handle``, its data piece by piece
    (:func:`~.data.json_chunks`): the command's way, which never holds the page's text (a
    few times the size of the file while it was built whole) beside the document."""
    head, tail = _frame(title, document.get("version", ""))
    handle.write(head)
    for chunk in json_chunks(document):
        handle.write(chunk)
    handle.write(tail)


__all__ = ["INSTALL_HINT", "ReportDependencyError", "render_html", "write_html"]
