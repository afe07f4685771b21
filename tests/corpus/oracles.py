"""Read ../shared/corpus/ORACLES.md: what tshark 4.0.17 decodes of each corpus capture."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Oracle:
    name: str
    packets: int = 0
    encapsulation: str = ""
    sip: Counter[str] = field(default_factory=Counter)  # "request INVITE" / "response 200" -> count
    stun: Counter[str] = field(default_factory=Counter)
    rtp_streams: list[list[str]] = field(default_factory=list)


_LONG = re.compile(r"^(?P<head>.*)\.\.\. \((?P<n>\d+) characters in all\)$")


def shorten(name: str) -> str:
    """The way ORACLES.md prints method names longer than 48 characters."""
    if len(name) > 48:
        return f"{name[:48]}... ({len(name)} characters in all)"
    return name


def load(path: Path) -> dict[str, Oracle]:
    oracles: dict[str, Oracle] = {}
    current: Oracle | None = None
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = oracles.setdefault(line[3:].strip(), Oracle(line[3:].strip()))
            section = ""
            continue
        if current is None:
            continue
        if line.startswith("Number of packets:"):
            current.packets = int(line.split(":", 1)[1])
        elif line.startswith("File encapsulation:"):
            current.encapsulation = line.split(":", 1)[1].strip()
        elif line.startswith("-- SIP"):
            section = "sip"
        elif line.startswith("-- STUN"):
            section = "stun"
        elif line.startswith("-- RTP"):
            section = "rtp"
        elif line.startswith("```"):
            section = "" if section == "rtp" else section
        elif section == "sip" and line.startswith("  "):
            count, what = line.strip().split(" ", 1)
            current.sip[what] += int(count)
        elif section == "stun" and line.startswith("  "):
            parts = line.strip().split(" ", 1)
            current.stun[parts[1] if len(parts) > 1 else ""] += int(parts[0])
        elif section == "rtp" and line.startswith(" ") and not line.startswith(" Start time"):
            current.rtp_streams.append(line.split())
    return oracles
