#!/usr/bin/env bash
# Record real SIP and RTP traffic made by SIPp on the loopback interface (root, sipp with PCAP
# play, dumpcap and editcap needed: apt-get install sip-tester tshark). The recordings are
# committed in captures/; re-recording changes their timestamps, Call-IDs and ports, so update
# the tests that hold values taken from tshark (tests/e2e/test_sipp_capture.py) and the expected
# outputs (tools/update_expected.py) with them.
#
#   tools/record_sipp.sh [calls|relay|all]     (default: all)
#
# calls  captures/sipp-calls.pcapng: SIPp's built-in UAC/UAS, CALLS_TCP calls over one TCP
#        connection (SIPp -t t1: the kernel decides segmentation) and CALLS_UDP over UDP, no media.
# relay  captures/sipp-relay-udp.pcapng.gz and sipp-relay-tcp.pcapng.gz: calls through a relay
#        that answers every call with the same media address (tools/sipp/relay_uas.xml, RTP
#        echoed by SIPp -rtp_echo), signalling over UDP, then over TCP. Each holds, overlapping:
#        40 answered calls with RTP from each caller's own port, 6 rejected (486 Busy Here),
#        6 cancelled (487), 2 answered PCMU while the caller sends PCMA, 2 with one-way audio,
#        and 1 caller behind a NAT (RTP from a port its SDP does not name). tests/e2e/
#        test_sipp_relay.py checks every call against its own SDP.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
captures="$here/../captures"
what=${1:-all}
CALLS_TCP=${CALLS_TCP:-20}
CALLS_UDP=${CALLS_UDP:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start_capture() {  # file, filter
    dumpcap -q -i lo -f "$2" -w "$1" 2>/dev/null &
    cap=$!
    sleep 2
}

stop_capture() {
    sleep 2
    kill "$cap" 2>/dev/null || true
    wait "$cap" 2>/dev/null || true
}

record_calls() {
    start_capture "$tmp/sipp.pcapng" "tcp port 5070 or udp port 5071"
    timeout 60 sipp -sn uas -t t1 -p 5070 -i 127.0.0.1 -nostdin >/dev/null 2>&1 &
    local uas_tcp=$!
    timeout 60 sipp -sn uas -p 5071 -i 127.0.0.1 -nostdin >/dev/null 2>&1 &
    local uas_udp=$!
    sleep 1
    timeout 30 sipp -sn uac -t t1 127.0.0.1:5070 -p 5072 -i 127.0.0.1 -m "$CALLS_TCP" -r 20 -d 100 -nostdin >/dev/null 2>&1
    timeout 30 sipp -sn uac 127.0.0.1:5071 -p 5073 -i 127.0.0.1 -m "$CALLS_UDP" -r 20 -d 100 -nostdin >/dev/null 2>&1
    kill "$uas_tcp" "$uas_udp" 2>/dev/null || true
    wait "$uas_tcp" "$uas_udp" 2>/dev/null || true
    stop_capture
    cp "$tmp/sipp.pcapng" "$captures/sipp-calls.pcapng"
    echo "wrote $captures/sipp-calls.pcapng"
}

record_relay() {  # udp | tcp
    local transport=$1 t=()
    [ "$transport" = tcp ] && t=(-t t1)
    # 1.2 s of PCMA (40 packets of 30 ms) from SIPp's own sample, played by every caller.
    editcap -r /usr/share/sip-tester/g711a.pcap "$tmp/relay-rtp.pcap" 1-40
    cp "$here"/sipp/*.xml "$tmp/"
    cd "$tmp"
    start_capture "$tmp/relay.pcapng" \
        "port 5070 or portrange 15080-15085 or portrange 6000-6021 or portrange 20000-26999"
    local common=(-i 127.0.0.1 -mi 127.0.0.1 -nostdin "${t[@]}")
    timeout 60 sipp -sf relay_uas.xml -p 5070 -mp 6000 -rtp_echo "${common[@]}" >/dev/null 2>&1 &
    local uas=$!
    sleep 1
    local uacs=()
    run() { timeout 40 sipp "$@" "${common[@]}" >/dev/null 2>&1 & uacs+=($!); }
    run -sf uac_call.xml 127.0.0.1:5070 -p 15080 -mp 20000 -s relay -m 40 -r 40
    sleep 0.2
    run -sf uac_busy.xml 127.0.0.1:5070 -p 15081 -mp 25000 -s busy -m 6 -r 10
    run -sf uac_cancel.xml 127.0.0.1:5070 -p 15082 -mp 26000 -s cancel -m 6 -r 10
    sleep 0.2
    run -sf uac_call.xml 127.0.0.1:5070 -p 15083 -mp 22000 -s pcmu -m 2 -r 4
    run -sf uac_call.xml 127.0.0.1:5070 -p 15084 -mp 23000 -s oneway -m 2 -r 4
    run -sf uac_nat.xml 127.0.0.1:5070 -p 15085 -mp 24000 -s relay -m 1
    local status=0
    for p in "${uacs[@]}"; do wait "$p" || status=1; done
    kill "$uas" 2>/dev/null || true
    wait "$uas" 2>/dev/null || true
    stop_capture
    cd - >/dev/null
    if [ "$status" != 0 ]; then
        echo "a SIPp caller failed: $transport recording not written" >&2
        return 1
    fi
    gzip -n -9 -c "$tmp/relay.pcapng" >"$captures/sipp-relay-$transport.pcapng.gz"
    echo "wrote $captures/sipp-relay-$transport.pcapng.gz"
}

case "$what" in
    calls) record_calls ;;
    relay) record_relay udp; record_relay tcp ;;
    all) record_calls; record_relay udp; record_relay tcp ;;
    *) echo "usage: $0 [calls|relay|all]" >&2; exit 2 ;;
esac
