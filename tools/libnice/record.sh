#!/usr/bin/env bash
# Record a real MS-ICE2 exchange made by libnice (tools/libnice/ice_pair.c) on loopback: root,
# a C compiler, libnice-dev and dumpcap needed. Writes tests/analysis/data/libnice-msice2.pcapng,
# which tests/analysis/test_ice_analysis.py reads (its ufrags change with each recording).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../tests/analysis/data/libnice-msice2.pcapng"
tmp=$(mktemp -d)
cc -o "$tmp/ice_pair" "$here/ice_pair.c" $(pkg-config --cflags --libs nice)
dumpcap -q -i lo -f "udp portrange 41000-41019" -w "$tmp/ice.pcapng" &
cap=$!
sleep 2
"$tmp/ice_pair"
sleep 1
kill "$cap"
wait "$cap" 2>/dev/null || true
cp "$tmp/ice.pcapng" "$out"
rm -rf "$tmp"
echo "wrote $out"
