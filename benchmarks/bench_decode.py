"""Time PacketDecoder.decode against dpkt's Ethernet parser on the same in-memory frames.

Usage: python benchmarks/bench_decode.py [--frames 200000] [--rounds 3]

The frames are built once with dpkt: a mix of Ethernet/IPv4/UDP (RTP-sized and SIP-sized),
Ethernet/IPv4/TCP (pure ACKs and data), some 802.1Q-tagged, with varied addresses and ports.
Both sides are asked for the same thing: protocol, addresses, ports, payload, TCP seq and flags.
The best of ``rounds`` runs is reported for each, then the ratio.
"""

from __future__ import annotations

import argparse
import random
import struct
import time

import dpkt

from lyncdump.model import DefectLog
from lyncdump.net.decode import PacketDecoder


def build_frames(count: int, seed: int = 7) -> list[bytes]:
    """Build ``count`` Ethernet frames: 60% UDP, 40% TCP, 10% of all with a VLAN tag."""
    rng = random.Random(seed)
    frames: list[bytes] = []
    hosts = [bytes([10, 0, rng.randrange(256), rng.randrange(1, 255)]) for _ in range(64)]
    for i in range(count):
        src, dst = rng.sample(hosts, 2)
        kind = rng.random()
        if kind < 0.6:
            size = 172 if rng.random() < 0.9 else rng.randrange(300, 1400)
            l4: dpkt.Packet = dpkt.udp.UDP(
                sport=rng.randrange(1024, 65535),
                dport=rng.randrange(1024, 65535),
                data=rng.randbytes(size),
            )
            l4.ulen = 8 + size
            proto = dpkt.ip.IP_PROTO_UDP
        else:
            size = 0 if rng.random() < 0.4 else rng.randrange(1, 1400)
            l4 = dpkt.tcp.TCP(
                sport=5061,
                dport=rng.randrange(1024, 65535),
                seq=rng.randrange(2**32),
                ack=rng.randrange(2**32),
                flags=dpkt.tcp.TH_ACK | (dpkt.tcp.TH_PUSH if size else 0),
                data=rng.randbytes(size),
            )
            proto = dpkt.ip.IP_PROTO_TCP
        ip = dpkt.ip.IP(src=src, dst=dst, p=proto, id=i & 0xFFFF, data=l4)
        ip.len = len(bytes(ip))
        eth = dpkt.ethernet.Ethernet(
            src=b"\x00\x15\x5d\x01\x02\x03",
            dst=b"\x00\x15\x5d\x04\x05\x06",
            type=dpkt.ethernet.ETH_TYPE_IP,
            data=ip,
        )
        raw = bytes(eth)
        if i % 10 == 0:  # 802.1Q tag after the MAC addresses
            raw = raw[:12] + struct.pack("!HH", 0x8100, 100) + raw[12:]
        frames.append(raw)
    return frames


def run_ours(frames: list[bytes]) -> tuple[float, int]:
    decoder = PacketDecoder(DefectLog())
    decode = decoder.decode
    decoded = 0
    start = time.perf_counter()
    for number, frame in enumerate(frames, 1):
        if decode(number, 0.0, 1, frame) is not None:
            decoded += 1
    return time.perf_counter() - start, decoded


def run_dpkt(frames: list[bytes]) -> tuple[float, int]:
    decoded = 0
    Ethernet = dpkt.ethernet.Ethernet
    start = time.perf_counter()
    for frame in frames:
        ip = Ethernet(frame).data
        l4 = ip.data
        if isinstance(l4, dpkt.tcp.TCP):
            _ = (6, ip.src, l4.sport, ip.dst, l4.dport, l4.data, l4.seq, l4.flags)
            decoded += 1
        elif isinstance(l4, dpkt.udp.UDP):
            _ = (17, ip.src, l4.sport, ip.dst, l4.dport, l4.data, 0, 0)
            decoded += 1
    return time.perf_counter() - start, decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    frames = build_frames(args.frames)
    print(f"built {len(frames)} frames in {time.perf_counter() - t0:.1f}s")

    ours = min(run_ours(frames) for _ in range(args.rounds))
    theirs = min(run_dpkt(frames) for _ in range(args.rounds))
    assert ours[1] == theirs[1] == len(frames), (ours[1], theirs[1])
    ours_rate = len(frames) / ours[0]
    dpkt_rate = len(frames) / theirs[0]
    print(f"lyncdump PacketDecoder: {ours_rate:12,.0f} decodes/s ({ours[0]:.3f}s)")
    print(f"dpkt Ethernet parse:    {dpkt_rate:12,.0f} decodes/s ({theirs[0]:.3f}s)")
    print(f"ratio: {ours_rate / dpkt_rate:.2f}x dpkt")


if __name__ == "__main__":
    main()
