"""``SipMessage._view_index`` (the facts read the view headers from the index in one dict
lookup each) gives every view header's values as ``_values`` gives them, whatever state the
message is in: fresh, after other lookups, with its header list built, or fully indexed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.sip import message as lazy
from lyncdump.sip.message import _VIEW

from . import sip_samples as S
from .test_sip_lazy_parity import _VIEW_HEADERS, messages

#: What may happen to a message before the facts read it.
_BEFORE: list[Callable[[Any], object]] = [
    lambda m: None,
    lambda m: m.header("Event"),
    lambda m: m.header("X-Other"),
    lambda m: m.header("Supported") and m.header("Require") and m.header("Allow"),
    lambda m: m.headers,
    lambda m: m._header_index(),
    lambda m: (m.header("Via"), m.header("Contact")),
]


def _check(data: bytes, datagram: bool = False) -> None:
    for before in _BEFORE:
        try:
            msg = lazy.parse_message(data, datagram=datagram)
            reference = lazy.parse_message(data, datagram=datagram)
        except Exception:  # noqa: BLE001 - not a message: nothing to look up
            return
        before(msg)
        before(reference)
        index = msg._view_index()
        for key in _VIEW:
            got = (index.get(key) or ()) if index is not None else msg._values(key)
            assert tuple(got) == tuple(reference._values(key)), (key, data)


def test_samples() -> None:
    for data in [_VIEW_HEADERS, *S.VALID.values(), *S.MS_MESSAGES.values()]:
        _check(data)
        _check(data, True)


@given(messages(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_generated_messages(data: bytes, datagram: bool) -> None:
    _check(data, datagram)
