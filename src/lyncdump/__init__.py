"""lyncdump: a passive analyzer for Microsoft Lync / Skype for Business traffic.

    import lyncdump
    cap = lyncdump.open("capture.pcap")
    for session in cap.sessions():
        print(session.kind, session.call_id, session.outcome)

See docs/library.md for the whole API.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analysis.sessions import Session, Transaction
from .api import Capture, ConnectionSummary, Options, Stats, analyze, open, stream
from .errors import CaptureError, KeyMaterialError, LyncdumpError, MalformedError
from .model import Defect, Endpoint
from .sip.message import SipMessage

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
