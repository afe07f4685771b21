"""Result types shared by several layers.

Protocol objects live beside their parser (``sip.message.SipMessage``, ...); what more than one
layer passes around lives here: where something came from (``Endpoint``) and what went wrong
(``Defect``).
"""

from __future__ import annotations

# The address formatter of the socket module without the module (socket.py, with selectors and
# its enums, is about 2 ms of a start-up): socket.inet_ntop is this function.
from _socket import AF_INET, AF_INET6, inet_ntop
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

K = TypeVar("K")


class Counts(Counter[K]):
    """A Counter that ``dataclasses.asdict`` copies right.

    ``asdict`` rebuilds a dict subclass from its ``(key, value)`` pairs, which a plain Counter
    takes for elements to count (``asdict(cap.stats)["methods"]`` came out as
    ``{("INVITE", 3): 1}``): this one reads pairs as a mapping.
    """

    def __init__(self, items: Mapping[K, int] | Iterable[tuple[K, int]] | None = None,
                 /, **kwargs: Any) -> None:  # fmt: skip
        if items is not None and not isinstance(items, Mapping):
            items = dict(items)
        super().__init__(items, **kwargs)


@lru_cache(maxsize=65536)
def format_ip(raw: bytes) -> str:
    """Text form of a 4- or 16-byte address (cached: captures repeat a few addresses a lot)."""
    if len(raw) == 4:
        return inet_ntop(AF_INET, raw)
    if len(raw) == 16:
        return inet_ntop(AF_INET6, raw)
    return raw.hex()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An address and port as shown to users: ``10.0.0.1:5060`` or ``[2001:db8::1]:5061``."""

    ip: str
    port: int

    def __str__(self) -> str:
        if ":" in self.ip:
            return f"[{self.ip}]:{self.port}"
        return f"{self.ip}:{self.port}"

    @classmethod
    def from_raw(cls, raw_ip: bytes, port: int) -> Endpoint:
        return cls(format_ip(raw_ip), port)


@dataclass(frozen=True, slots=True)
class Defect:
    """Something in the input that did not follow its protocol; the run went on past it.

    ``frame`` is the 1-based frame number in the capture (None when not tied to one frame),
    ``layer`` names the parser (``pcap``, ``ipv4``, ``tcp``, ``sip``, ``mppc`` ...), ``offset``
    is where in that layer's unit the problem was found (None when not meaningful).
    """

    frame: int | None
    layer: str
    offset: int | None
    reason: str

    def __str__(self) -> str:
        where = f"frame {self.frame}" if self.frame is not None else "capture"
        at = f" at offset {self.offset}" if self.offset is not None else ""
        return f"{where}: {self.layer}: {self.reason}{at}"

    def to_dict(self) -> dict[str, object]:
        """A defect object of the ``capture`` record (docs/json.md)."""
        return {
            "frame": self.frame,
            "layer": self.layer,
            "offset": self.offset,
            "reason": self.reason,
        }


class DefectLog:
    """A bounded list of defects: a hostile capture can hold millions, memory must not grow.

    The first ``limit`` are kept in full; the rest are only counted per layer.
    """

    __slots__ = ("items", "limit", "dropped")

    def __init__(self, limit: int = 10000) -> None:
        self.items: list[Defect] = []
        self.limit = limit
        self.dropped: dict[str, int] = {}

    def add(self, frame: int | None, layer: str, offset: int | None, reason: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(Defect(frame, layer, offset, reason))
        else:
            self.dropped[layer] = self.dropped.get(layer, 0) + 1

    def extend(self, defects: list[Defect]) -> None:
        for d in defects:
            self.add(d.frame, d.layer, d.offset, d.reason)

    def __len__(self) -> int:
        return len(self.items) + sum(self.dropped.values())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)
