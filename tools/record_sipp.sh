#!/usr/bin/env bash
# Record real SIP traffic made by SIPp on the loopback interface (root, sipp and dumpcap needed:
# apt-get install sip-tester tshark). Writes captures/sipp-calls.pcapng: CALLS_TCP calls over one
# TCP connection (SIPp -t t1: the kernel decides segmentation) and CALLS_UDP calls over UDP.
# The capture is committed; re-recording changes its timestamps, so update the test values
# (tests/e2e/test_sipp_capture.py, taken from tshark) with it.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/captures/sipp-calls.pcapng"
CALLS_TCP=${CALLS_TCP:-20}
CALLS_UDP=${CALLS_UDP:-10}
tmp=$(mktemp -d)
dumpcap -q -i lo -f "tcp port 5070 or udp port 5071" -w "$tmp/sipp.pcapng" &
cap=$!
sleep 2
timeout 60 sipp -sn uas -t t1 -p 5070 -i 127.0.0.1 -nostdin >/dev/null 2>&1 &
uas_tcp=$!
timeout 60 sipp -sn uas -p 5071 -i 127.0.0.1 -nostdin >/dev/null 2>&1 &
uas_udp=$!
sleep 1
timeout 30 sipp -sn uac -t t1 127.0.0.1:5070 -p 5072 -i 127.0.0.1 -m "$CALLS_TCP" -r 20 -d 100 -nostdin >/dev/null 2>&1
timeout 30 sipp -sn uac 127.0.0.1:5071 -p 5073 -i 127.0.0.1 -m "$CALLS_UDP" -r 20 -d 100 -nostdin >/dev/null 2>&1
sleep 2
kill "$uas_tcp" "$uas_udp" "$cap" 2>/dev/null || true
wait 2>/dev/null || true
cp "$tmp/sipp.pcapng" "$out"
rm -rf "$tmp"
echo "wrote $out"
