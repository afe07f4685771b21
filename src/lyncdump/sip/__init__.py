"""SIP: sans-IO message parsing (:mod:`.message`), header grammar (:mod:`.headers`), URIs
(:mod:`.uri`) and stream framing (:mod:`.framing`).

The pipeline calls :func:`looks_like_sip` to recognise SIP, :class:`SipStreamFramer` to cut
TCP/TLS streams into messages and :func:`parse_message` to read each one; see docs/sip.md.
"""

from .framing import FramedMessage, SipStreamFramer
from .headers import COMPACT_FORMS, NEVER_SPLIT, NameAddr, Via, parse_name_addr, parse_via
from .message import (
    KNOWN_METHODS,
    MAX_HEADERS,
    MAX_MESSAGE_SIZE,
    BodyPart,
    SipMessage,
    looks_like_sip,
    parse_message,
)
from .uri import SipUri, parse_uri

__all__ = [
    "COMPACT_FORMS",
    "KNOWN_METHODS",
    "MAX_HEADERS",
    "MAX_MESSAGE_SIZE",
    "NEVER_SPLIT",
    "BodyPart",
    "FramedMessage",
    "NameAddr",
    "SipMessage",
    "SipStreamFramer",
    "SipUri",
    "Via",
    "looks_like_sip",
    "parse_message",
    "parse_name_addr",
    "parse_uri",
    "parse_via",
]
