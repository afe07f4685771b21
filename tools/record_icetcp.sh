#!/usr/bin/env bash
# Record real MS-ICE draft 6 over TCP made by libnice (OC2007 compatibility, the Office
# Communicator 2007 flavour Lync keeps) on the loopback interface: tools/icetcp_oc2007.c is built
# against Debian's libnice-dev and run under tcpdump (root, gcc, pkg-config, libnice-dev and
# tcpdump needed). Writes, in captures/:
#
#   ice-tcp-oc2007.pcap        the whole run: TCP handshakes, RFC 4571-framed RFC 3489-style
#                              STUN checks (no magic cookie), then RTP both ways
#   ice-tcp-oc2007.candidates  what the program printed: each candidate's own username and
#                              password (base64; the decoded password keys MESSAGE-INTEGRITY)
#   ice-tcp-oc2007-late.pcap   the same run as a capture begun after the checks: only the RTP
#                              frames of the chosen connection (RTP over RFC 4571 alone)
#
# The captures are committed; a new recording changes ports, credentials and times, so the
# expected outputs (tools/update_expected.py) and tests/media/test_ice_tcp_capture.py follow it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/captures"
packets=${PACKETS:-25}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -o "$tmp/icetcp" "$root/tools/icetcp_oc2007.c" $(pkg-config --cflags --libs nice)
tcpdump -i lo -U -s 0 -w "$tmp/icetcp.pcap" 'tcp and (host 127.0.15.1 or host 127.0.15.2)' \
    2>/dev/null &
cap=$!
sleep 1
"$tmp/icetcp" "$packets" >"$tmp/candidates"
sleep 1
kill "$cap"
wait "$cap" 2>/dev/null || true
cp "$tmp/icetcp.pcap" "$out/ice-tcp-oc2007.pcap"
cp "$tmp/candidates" "$out/ice-tcp-oc2007.candidates"
python3 - "$out/ice-tcp-oc2007.pcap" "$out/ice-tcp-oc2007-late.pcap" <<'EOF'
"""Keep the frames from the first RTP one on: a capture that began after the checks."""
import sys

import dpkt

src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as fh:
    reader = dpkt.pcap.Reader(fh)
    frames = list(reader)
    linktype = reader.datalink()
start = None
for i, (_, buf) in enumerate(frames):
    tcp = dpkt.ethernet.Ethernet(buf).data.data
    if len(tcp.data) >= 4 and 0x80 <= tcp.data[2] <= 0xBF:
        start = i
        break
with open(dst, "wb") as fh:
    writer = dpkt.pcap.Writer(fh, linktype=linktype)
    for ts, buf in frames[start:]:
        writer.writepkt(buf, ts=ts)
EOF
cat "$out/ice-tcp-oc2007.candidates"
echo "wrote $out/ice-tcp-oc2007.pcap, ice-tcp-oc2007-late.pcap, ice-tcp-oc2007.candidates"
