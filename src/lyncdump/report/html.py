"""The report as one HTML file: the Jinja2 template with its script, style, chart library and
data inlined, so it opens from disk anywhere with no network (docs/report.md).

The page's Content-Security-Policy forbids every fetch (``default-src 'none'``): even a
capture that carried a URL in a SIP header cannot make the browser load anything. Capture text
reaches the page only inside the JSON document (escaped by data.to_json) and is put into the
DOM by report.js as text, never as markup.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from ..errors import LyncdumpError
from .data import to_json

#: What to install when Jinja2 is missing (the ``report`` extra).
INSTALL_HINT = "the report needs Jinja2: pip install 'lyncdump[report]'"


class ReportDependencyError(LyncdumpError):
    """An optional dependency of the report is not installed."""


def _asset(*parts: str) -> str:
    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


def render_html(document: dict[str, Any], title: str) -> str:
    """The whole page for ``document`` (ReportData.document())."""
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
    return template.render(
        title=title,
        version=document.get("version", ""),
        data_json=to_json(document),
        report_js=_asset("static", "report.js"),
        report_css=_asset("static", "report.css"),
        uplot_js=_asset("vendor", "uPlot.iife.min.js"),
        uplot_css=_asset("vendor", "uPlot.min.css"),
        uplot_license=_asset("vendor", "uPlot.LICENSE"),
    )


__all__ = ["INSTALL_HINT", "ReportDependencyError", "render_html"]
