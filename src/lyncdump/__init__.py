"""lyncdump: a passive analyzer for Microsoft Lync / Skype for Business traffic.

    import lyncdump
    cap = lyncdump.open("capture.pcap")
    for session in cap.sessions():
        print(session.kind, session.call_id, session.outcome)

See docs/library.md for the whole API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .analysis.sessions import Session, Transaction
    from .api import Capture, ConnectionSummary, Options, Stats, analyze, open, stream
    from .errors import CaptureError, KeyMaterialError, LyncdumpError, MalformedError
    from .model import Defect, Endpoint
    from .sip.message import SipMessage

#: Where each public name lives. ``import lyncdump`` loads none of them: a name loads its
#: module on first use (PEP 562), so ``lyncdump --version`` and scripts that need one layer do
#: not pay for the whole analyzer (docs/performance.md, "Start-up").
_SUBMODULE = {
    "open": "api",
    "analyze": "api",
    "stream": "api",
    "Capture": "api",
    "ConnectionSummary": "api",
    "Options": "api",
    "Stats": "api",
    "Session": "analysis.sessions",
    "Transaction": "analysis.sessions",
    "SipMessage": "sip.message",
    "Defect": "model",
    "Endpoint": "model",
    "LyncdumpError": "errors",
    "CaptureError": "errors",
    "MalformedError": "errors",
    "KeyMaterialError": "errors",
}

__all__ = [
    "__version__",
    "open",
    "analyze",
    "stream",
    "Capture",
    "ConnectionSummary",
    "Options",
    "Stats",
    "Session",
    "Transaction",
    "SipMessage",
    "Defect",
    "Endpoint",
    "LyncdumpError",
    "CaptureError",
    "MalformedError",
    "KeyMaterialError",
]


def __getattr__(name: str) -> Any:
    """A public name, or a submodule used as an attribute (``lyncdump.api``), on first use."""
    submodule = _SUBMODULE.get(name)
    if submodule is not None:
        value = getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
        globals()[name] = value
        return value
    return _submodule_attribute(__name__, name)


def _submodule_attribute(package: str, name: str) -> Any:
    """``package.name`` as a package's module ``__getattr__`` gives it: the submodule
    ``name``, imported now (the import binds it on the package, so this runs once), else
    AttributeError. ``lyncdump.analysis`` and ``lyncdump.tls`` use it so that a type hint can
    name a result type as ``analysis.ice.Allocation`` without loading its module until the
    hint is resolved (pipeline/core.py, docs/performance.md "Start-up")."""
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
                raise
    raise AttributeError(f"module {package!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
