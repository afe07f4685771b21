"""Real SIP traffic recorded from SIPp on loopback (tools/record_sipp.sh): every message tshark
sees is found, in the same frame, over TCP and UDP."""

from __future__ import annotations

import lyncdump

from ..conftest import CAPTURES

SIPP = CAPTURES / "sipp-calls.pcapng"

#: `tshark -r captures/sipp-calls.pcapng -Y sip -T fields -e frame.number` (tshark 4.0.17)
TSHARK_SIP_FRAMES = [
    4, 6, 8, 10, 12, 14, 15, 17, 19, 21, 22, 24, 25, 27, 29, 30, 32, 34, 35, 37, 38, 39, 40, 42,
    43, 45, 47, 48, 50, 52, 53, 55, 56, 57, 58, 59, 60, 62, 64, 66, 67, 69, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 85, 87, 88, 90, 92, 93, 95, 97, 98, 100, 101, 102, 103, 105, 106, 108,
    110, 111, 113, 115, 116, 118, 120, 121, 123, 125, 126, 128, 130, 131, 133, 135, 136, 138,
    139, 140, 141, 143, 144, 146, 147, 148, 149, 151, 152, 154, 156, 157, 159, 160, 161, 162,
    163, 164, 165, 167, 168, 170, 172, 173, 175, 177, 178, 180, 182, 183, 185, 186, 191, 192,
    193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210,
    211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228,
    229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246,
    247, 248, 249, 250
]


def test_same_frames_as_tshark() -> None:
    cap = lyncdump.analyze(SIPP)
    assert [m.frame for m in cap.messages()] == TSHARK_SIP_FRAMES
    assert not cap.defects.items


def test_counts_and_calls() -> None:
    cap = lyncdump.analyze(SIPP)
    assert dict(cap.stats.methods) == {"INVITE": 30, "ACK": 30, "BYE": 30}
    assert dict(cap.stats.statuses) == {180: 30, 200: 60}
    sessions = cap.sessions()
    assert len(sessions) == 30
    assert {s.kind for s in sessions} == {"call"}
    assert {s.outcome for s in sessions} == {"INVITE → 200; BYE → 200"}
    transports = {m.transport for s in sessions[:20] for m in s.messages}
    assert transports == {"TCP"}
    assert {m.transport for s in sessions[20:] for m in s.messages} == {"UDP"}
