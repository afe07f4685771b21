"""SIP messages used by the tests in this folder.

The RFC 4475 torture messages are re-typed here from the RFC's descriptions (same tricks,
our own bytes); Microsoft-flavoured messages follow the shapes in ms-sip.md and
mppc-sipcomp.md. ``{CL}`` in a header line is replaced by the real body length.
"""

from __future__ import annotations

SDP = (
    b"v=0\r\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.4\r\n"
    b"t=0 0\r\n"
    b"m=audio 49217 RTP/AVP 0 12\r\n"
    b"m=video 3227 RTP/AVP 31\r\n"
    b"a=rtpmap:31 LPC\r\n"
)


def build(lines: list[str] | str, body: bytes = b"", *, eol: str = "\r\n") -> bytes:
    """Join header lines with ``eol``, add the empty line and the body; fill ``{CL}``."""
    if isinstance(lines, str):
        lines = lines.split("\n")
    head = eol.join(lines).replace("{CL}", str(len(body)))
    return head.encode("utf-8") + eol.encode() * 2 + body


# -- RFC 4475 3.1.1: valid messages ----------------------------------------------------------

WSINV = build(
    [
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
        "TO :",
        " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>',
        "  ;",
        "  tag = 98asjd8",
        "MaX-fOrWaRdS: 0068",
        "Call-ID: wsinv.ndaksdj@192.0.2.1",
        "Content-Length   : {CL}",
        "cseq: 0009",
        "  INVITE",
        "Via  : SIP  /   2.0",
        " /UDP",
        "    192.0.2.2;branch=390skdjuw",
        "s :",
        "NewFangledHeader:   newfangled value",
        " continued newfangled value",
        "UnknownHeaderWithUnusualValue: ;;,,;;,;",
        "Content-Type: application/sdp",
        "Route:",
        " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
        "v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
        "  branch  =   z9hG4bK9ikj8  ,",
        " SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
        " z9hG4bK30239",
        'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =',
        "      newvalue ;",
        "  secondparam ; q = 0.33",
    ],
    SDP,
)

INTMETH_METHOD = "!interesting-Method0123456789_*+`.%indeed'~"
INTMETH_USER = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
INTMETH_PASSWORD = "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
INTMETH = build(
    [
        f"{INTMETH_METHOD} sip:{INTMETH_USER}:{INTMETH_PASSWORD}@example.com SIP/2.0",
        "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
        f'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:{INTMETH_USER}@example.com>',
        "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>"
        ";fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.",
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
        f"CSeq: 139122385 {INTMETH_METHOD}",
        "Max-Forwards: 255",
        "extensionHeader-!.%*+_`'~:\ufeff大停電",
        "Content-Length: 0",
    ]
)

ESC01 = build(
    [
        "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
        "To: sip:%75se%72@example.com",
        "From: <sip:I%20have%20spaces@example.net>;tag=938",
        "Max-Forwards: 87",
        "i: esc01.239409asdfakjkn23onasd0-3234",
        "CSeq: 234234 INVITE",
        "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw",
        "C: application/sdp",
        "Contact:",
        "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
        "Content-Length: {CL}",
    ],
    SDP,
)

ESCNULL = build(
    [
        "REGISTER sip:example.com SIP/2.0",
        "To: sip:null-%00-null@example.com",
        "From: sip:null-%00-null@example.com;tag=839923423",
        "Max-Forwards: 70",
        "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
        "CSeq: 14398234 REGISTER",
        "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
        "Contact: <sip:%00@host5.example.com>",
        "Contact: <sip:%00%00@host5.example.com>",
        "L:0",
    ]
)

ESC02 = build(
    [
        "RE%47IST%45R sip:registrar.example.com SIP/2.0",
        'To: "%Z%45" <sip:resource@example.com>',
        'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23',
        "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
        "Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209asdjf",
        "CSeq: 29344 RE%47IST%45R",
        "Max-Forwards: 70",
        "Contact: <sip:alias1@host1.example.com>",
        "C%6Fntact: <sip:alias2@host2.example.com>",
        "Contact: <sip:alias3@host3.example.com>",
        "l: 0",
    ]
)

LWSDISP = build(
    [
        "OPTIONS sip:user@example.com SIP/2.0",
        "To: sip:user@example.com",
        "From: caller<sip:caller@example.com>;tag=323",
        "Max-Forwards: 70",
        "Call-ID: lwsdisp.1234abcd@funky.example.com",
        "CSeq: 60 OPTIONS",
        "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw",
        "l: 0",
    ]
)

LONG_TAG = "longreq.one" + "really" * 40 + "long"
LONG_DISPLAY = "I have a user name of " + "extreme " * 60 + "proportion"
LONG_CALL_ID = "longreq." + "onereallyreallyreallylong" * 12 + "callid"
LONG_VALUE = "unknown-" + "long" * 300 + "-value"
LONG_VIAS = 30
LONGREQ = build(
    [
        "INVITE sip:user@example.com SIP/2.0",
        f'To: "{LONG_DISPLAY}" <sip:user@example.com>;tag={LONG_TAG}',
        "From: sip:caller@example.net;tag=341341",
        "Max-Forwards: 70",
        f"Call-ID: {LONG_CALL_ID}",
        "CSeq: 3882340 INVITE",
        f"Unknown-{'Looooooooong' * 20}-Name: {LONG_VALUE}; "
        f"{'unknown-' + 'long' * 50}-parameter-name"
        f" = {'unknown-' + 'long' * 50}-parameter-value",
        *[
            f"Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{i:04d}" + "x" * 40
            for i in range(LONG_VIAS)
        ],
        "Contact: <sip:amazinglylongcallername@host5.example.net>",
        "Content-Type: application/sdp",
        "l: {CL}",
    ],
    SDP,
)

DBLREQ_SECOND = build(
    [
        "INVITE sip:joe@example.com SIP/2.0",
        "t: sip:joe@example.com",
        "From: sip:caller@example.net;tag=141334",
        "Max-Forwards: 8",
        "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15",
        "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234",
        "Content-Type: application/sdp",
        "Content-Length: {CL}",
    ],
    SDP,
)
DBLREQ_FIRST = build(
    [
        "REGISTER sip:example.com SIP/2.0",
        "To: sip:j.user@example.com",
        "From: sip:j.user@example.com;tag=43251j3j324",
        "Max-Forwards: 8",
        "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412",
        "Contact: sip:j.user@host.example.com",
        "CSeq: 8 REGISTER",
        "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492",
        "Content-Length: 0",
    ]
)
DBLREQ = DBLREQ_FIRST + DBLREQ_SECOND

SEMIURI = build(
    [
        "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0",
        "To: sip:j_user@example.com",
        "From: sip:caller@example.org;tag=33242",
        "Max-Forwards: 3",
        "Call-ID: semiuri.0ha0isndaksdj",
        "CSeq: 8 OPTIONS",
        "Accept: application/sdp, application/pkcs7-mime,",
        "        multipart/mixed, multipart/signed,",
        "        message/sip, message/sipfrag",
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw",
        "l: 0",
    ]
)

TRANSPORTS = build(
    [
        "OPTIONS sip:user@example.com SIP/2.0",
        "To: sip:user@example.com",
        "From: <sip:caller@example.com>;tag=323",
        "Max-Forwards: 70",
        "Call-ID:  transports.kijh4akdnaqjkwendsasfdj",
        "Accept: application/sdp",
        "CSeq: 60 OPTIONS",
        "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw",
        "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
        "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
        "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
        "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
        "l: 0",
    ]
)

MPART_SIGNATURE = bytes(range(256))[::7] + b"\r\n--7a9cbec02ceef65\x00\xff"
MPART_BODY = (
    b"--7a9cbec02ceef655\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n"
    b"Hello\r\n"
    b"--7a9cbec02ceef655\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n" + MPART_SIGNATURE + b"\r\n"
    b"--7a9cbec02ceef655--\r\n"
)
MPART01 = build(
    [
        "MESSAGE sip:kumiko@example.org SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport",
        "Max-Forwards: 70",
        "Route: <sip:127.0.0.1:5080>",
        "Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+8",
        "From: <sip:koji@example.com>;tag=2fb0dcc9",
        "To: <sip:kumiko@example.org>",
        "Call-ID: 3c26700c1adb-mpart01",
        "CSeq: 1 MESSAGE",
        "Contact: <sip:koji@127.0.0.1:5070>",
        "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655",
        "Date: Sat, 15 Oct 2005 04:44:56 GMT",
        "User-Agent: SIPimp.org/0.2.5 (curses)",
        "Content-Length: {CL}",
    ],
    MPART_BODY,
)

UNREASON_TEXT = "= 2**3 * 5**2 но сто девяносто девять - простое"
UNREASON = build(
    [
        f"SIP/2.0 200 {UNREASON_TEXT}",
        "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
        "Call-ID: unreason.1234ksdfak3j2erwedfsASdf",
        "CSeq: 35 INVITE",
        "From: sip:user@example.com;tag=11141343",
        "To: sip:user@example.edu;tag=2229",
        "Content-Length: {CL}",
        "Content-Type: application/sdp",
        "Contact: <sip:user@host198.example.com>",
    ],
    SDP,
)

NOREASON = build(
    [
        "SIP/2.0 100 ",
        "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
        "Call-ID: noreason.asndj203insdf99223ndf",
        "CSeq: 35 INVITE",
        "From: <sip:user@example.com>;tag=39ansfi3",
        "To: <sip:user@example.edu>;tag=902jndnke3",
        "Content-Length: 0",
        "Contact: <sip:user@host105.example.com>",
    ]
)

VALID = {
    "wsinv": WSINV,
    "intmeth": INTMETH,
    "esc01": ESC01,
    "escnull": ESCNULL,
    "esc02": ESC02,
    "lwsdisp": LWSDISP,
    "longreq": LONGREQ,
    "dblreq": DBLREQ,
    "semiuri": SEMIURI,
    "transports": TRANSPORTS,
    "mpart01": MPART01,
    "unreason": UNREASON,
    "noreason": NOREASON,
}

# -- RFC 4475 3.1.2 / 3.3: invalid messages ---------------------------------------------------

BADINV01 = build(
    [
        "INVITE sip:user@example.com SIP/2.0",
        "To: sip:j.user@example.com",
        "From: sip:caller@example.net;tag=134161461246",
        "Max-Forwards: 7",
        "Call-ID: badinv01.0ha0isndaksdjweiafasdk3",
        "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.15;;,;,,",
        'Contact: "Joe" <sip:joe@example.org>;;;;',
        "Content-Length: {CL}",
        "Content-Type: application/sdp",
    ],
    SDP,
)

CLERR = build(
    [
        "INVITE sip:user@example.com SIP/2.0",
        "Max-Forwards: 80",
        "To: sip:j.user@example.com",
        "From: sip:caller@example.net;tag=93942939o2",
        "Contact: <sip:caller@hungry.example.net>",
        "Call-ID: clerr.0ha0isndaksdjweiafasdk3",
        "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523",
        "Content-Type: application/sdp",
        "Content-Length: 9999",
    ],
    SDP,
)

NCL = build(
    [
        "INVITE sip:user@example.com SIP/2.0",
        "Max-Forwards: 254",
        "To: sip:j.user@example.com",
        "From: sip:caller@example.net;tag=32394234",
        "Call-ID: ncl.0ha0isndaksdj2193423r542w35",
        "CSeq: 0 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw",
        "Contact: <sip:caller@example53.example.net>",
        "Content-Type: application/sdp",
        "Content-Length: -999",
    ],
    SDP,
)

SCALAR02 = build(
    [
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3",
        "To: <sip:user@example.com>",
        "From: <sip:user@example.com>;tag=239232jh3",
        "CSeq: 36893488147419103232 REGISTER",
        "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32",
        "Max-Forwards: 300",
        "Expires: 1000000000000000000000000000000000000000000000000000000000000000000000000000",
        "Contact: <sip:user@host129.example.com>",
        "  ;expires=280297596632815",
        "Content-Length: 0",
    ]
)

MCL01 = build(
    [
        "OPTIONS sip:user@example.com SIP/2.0",
        "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423",
        "To: sip:user@example.com",
        "From: sip:other@example.net;tag=3923942",
        "Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf",
        "CSeq: 15932 OPTIONS",
        "Content-Length: 13",
        "Max-Forwards: 60",
        "Content-Length: 5",
        "Content-Type: text/plain",
    ],
    b"There's no way to know how many octets are supposed to be here.\r\n",
)

INSUF = build(
    [
        "INVITE sip:user@example.com SIP/2.0",
        "CSeq: 193942 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf",
        "Content-Type: application/sdp",
        "l: {CL}",
    ],
    SDP,
)

BEXT01 = build(
    [
        "OPTIONS sip:user@example.com SIP/2.0",
        "To: sip:j_user@example.com",
        "From: sip:caller@example.net;tag=242etr",
        "Max-Forwards: 6",
        "Call-ID: bext01.0ha0isndaksdj",
        "Require: nothingSupportedHere",
        "CSeq: 8 OPTIONS",
        "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw",
        "l: 0",
    ]
)

BCAST = build(
    [
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
        "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23",
        "Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf",
        "CSeq: 35 INVITE",
        "From: sip:user@example.com;tag=11141343",
        "To: sip:user@example.edu;tag=2229",
        "Content-Length: 0",
        "Contact: <sip:user@host28.example.com>",
    ]
)

QUOTBAL = build(
    [
        "INVITE sip:user@example.com SIP/2.0",
        'To: "Mr. J. User <sip:j.user@example.com>',
        "From: sip:caller@example.net;tag=93334",
        "Max-Forwards: 10",
        "Call-ID: quotbal.aksdj",
        "Contact: <sip:caller@host59.example.net>",
        "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234",
        "l: 0",
    ]
)

LTGTRURI = build(
    [
        "INVITE <sip:user@example.com> SIP/2.0",
        "To: sip:user@example.com",
        "From: sip:caller@example.net;tag=39291",
        "Max-Forwards: 23",
        "Call-ID: ltgtruri.1@192.0.2.5",
        "CSeq: 1 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.5",
        "l: 0",
    ]
)

LWSRURI = build(
    [
        "INVITE sip:user@example.com; lr SIP/2.0",
        "To: sip:user@example.com;tag=3xfe-9921883-z9f",
        "From: sip:caller@example.net;tag=231413434",
        "Max-Forwards: 5",
        "Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423",
        "CSeq: 2130706432 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395",
        "l: 0",
    ]
)

LWSSTART = build(
    [
        "INVITE  sip:user@example.com  SIP/2.0",
        "Max-Forwards: 8",
        "To: sip:user@example.com",
        "From: sip:caller@example.net;tag=8814",
        "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com",
        "CSeq: 1893884 INVITE",
        "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923",
        "l: 0",
    ]
)

BADVERS = build(
    [
        "OPTIONS sip:t.watson@example.org SIP/7.0",
        "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw",
        "Max-Forwards:     70",
        "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe",
        "To:      T. Watson <sip:t.watson@example.org>",
        "Call-ID: badvers.31417@c.example.com",
        "CSeq:    1 OPTIONS",
        "l: 0",
    ]
)

MISMATCH01 = build(
    [
        "OPTIONS sip:user@example.com SIP/2.0",
        "To: sip:j.user@example.com",
        "From: sip:caller@example.net;tag=34525",
        "Max-Forwards: 6",
        "Call-ID: mismatch01.dj0234sxdfl3",
        "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw",
        "l: 0",
    ]
)

BIGCODE = build(
    [
        "SIP/2.0 4294967301 better not break the receiver",
        "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
        "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i",
        "CSeq: 353494 INVITE",
        "From: <sip:user@example.com>;tag=39ansfi3",
        "To: <sip:user@example.edu>;tag=902jndnke3",
        "Content-Length: 0",
        "Contact: <sip:user@host105.example.com>",
    ]
)

MULTI01 = build(
    [
        "INVITE sip:user@company.com SIP/2.0",
        "Contact: <sip:caller@host25.example.net>",
        "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw",
        "Max-Forwards: 70",
        "CSeq: 5 INVITE",
        "Call-ID: multi01.98asdh@192.0.2.1",
        "CSeq: 59 INVITE",
        "Call-ID: multi01.98asdh@192.0.2.2",
        "From: sip:caller@example.com;tag=3413415",
        "To: sip:user@example.com",
        "To: sip:other@example.net",
        "From: sip:caller@example.net;tag=2923420123",
        "Content-Type: application/sdp",
        "l: {CL}",
        "Contact: <sip:caller@host36.example.net>",
        "Max-Forwards: 5",
    ],
    SDP,
)

# -- Microsoft-flavoured messages -------------------------------------------------------------

MS_REGISTER = build(
    [
        "REGISTER sip:contoso.com SIP/2.0",
        "Via: SIP/2.0/TLS 192.168.1.20:50512",
        "Max-Forwards: 70",
        "From: <sip:alice@contoso.com>;tag=8f4e2a1b9c;epid=8248ca9ebb",
        "To: <sip:alice@contoso.com>",
        "Call-ID: 6b0e6f6d0a2f4d1c9e3b7a5c4d2e1f00",
        "CSeq: 3 REGISTER",
        'Contact: <sip:192.168.1.20:50512;transport=tls;ms-opaque=d3470f2e1d>;methods="INVITE, '
        'MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY"'
        ';proxy=replace;+sip.instance="<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>"',
        "User-Agent: UCCAPI/15.0.4569.1503 OC/15.0.4569.1503 (Microsoft Lync)",
        "Supported: gruu-10, adhoclist, msrtc-event-categories",
        "Supported: ms-forking",
        "Supported: ms-cluster-failover",
        "Supported: ms-userservices-state-notification",
        "ms-keep-alive: UAC;hop-hop=yes",
        "Event: registration",
        'Authorization: NTLM qop="auth", realm="SIP Communications Service", '
        'targetname="fe01.contoso.com", version=4, gssapi-data="TlRMTVNTUAADAAAAGAAYAHgAAAA=", '
        'opaque="4E5A2B1C"',
        "Content-Length: 0",
    ]
)

MS_401 = build(
    [
        "SIP/2.0 401 Unauthorized",
        "Date: Tue, 09 Feb 2017 10:11:12 GMT",
        'WWW-Authenticate: NTLM opaque="4E5A2B1C", gssapi-data="TlRMTVNTUAACAAAA", '
        'targetname="fe01.contoso.com", realm="SIP Communications Service", version=4',
        'WWW-Authenticate: Kerberos realm="SIP Communications Service", '
        'targetname="sip/fe01.contoso.com", version=4',
        "From: <sip:alice@contoso.com>;tag=8f4e2a1b9c;epid=8248ca9ebb",
        "To: <sip:alice@contoso.com>;tag=A1B2C3D4E5F60718293A4B5C6D7E8F90",
        "Call-ID: 6b0e6f6d0a2f4d1c9e3b7a5c4d2e1f00",
        "CSeq: 3 REGISTER",
        "Via: SIP/2.0/TLS 192.168.1.20:50512;ms-received-port=50512;ms-received-cid=1E00",
        'ms-diagnostics: 1000;reason="Final handshake failed, retry";source="fe01.contoso.com"',
        "Server: RTC/6.0",
        "Content-Length: 0",
    ]
)

MS_NEGOTIATE = build(
    [
        "NEGOTIATE sip:192.0.0.1:5061 SIP/2.0",
        "Via: SIP/2.0/TLS 192.0.0.2:2616",
        "Max-Forwards: 0",
        "From: <sip:192.0.0.2:2616>;tag=984721fb59b64e45b469c91aba8a9f8f",
        "To: <sip:192.0.0.1:5061>",
        "Call-ID: 8d8b20f87c9c4221a732f3a70f57e9b8",
        "CSeq: 1 NEGOTIATE",
        "Compression: LZ77-8K",
        "Content-Length: 0",
    ]
)

MS_NEGOTIATE_OK = build(
    [
        "SIP/2.0 200 OK",
        "Compression: LZ77-8K",
        "From: <sip:192.0.0.2:2616>;tag=984721fb59b64e45b469c91aba8a9f8f",
        "To: <sip:192.0.0.1:5061>;tag=D76F601D7239923FBE84D78BF8821C85",
        "Call-ID: 8d8b20f87c9c4221a732f3a70f57e9b8",
        "CSeq: 1 NEGOTIATE",
        "Via: SIP/2.0/TLS 192.0.0.2:2616;ms-received-port=2616;ms-received-cid=545400",
        "Content-Length: 0",
    ]
)

MS_SERVICE_BODY = (
    b'<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence">'
    b'<publications uri="sip:alice@contoso.com"><publication categoryName="state" '
    b'instance="1" container="2" version="0" expireType="endpoint"><state '
    b'xmlns="http://schemas.microsoft.com/2006/09/sip/state" type="machineState">'
    b"<availability>3500</availability></state></publication></publications></publish>"
)
MS_SERVICE = build(
    [
        "SERVICE sip:alice@contoso.com SIP/2.0",
        "Via: SIP/2.0/TLS 192.168.1.20:50512",
        "Max-Forwards: 70",
        "From: <sip:alice@contoso.com>;tag=c0ffee01;epid=8248ca9ebb",
        "To: <sip:alice@contoso.com>",
        "Call-ID: 11223344556677889900aabbccddeeff",
        "CSeq: 1 SERVICE",
        "Contact: <sip:alice@contoso.com;opaque=user:epid:QUIZk9sYMFSmrVfgEr8r4gAA;gruu>",
        "Content-Type: application/msrtc-category-publish+xml",
        "Content-Length: {CL}",
    ],
    MS_SERVICE_BODY,
)

MS_BENOTIFY = build(
    [
        "BENOTIFY sip:192.168.1.20:50512;transport=tls;ms-opaque=d3470f2e1d;ms-received-cid=1E00 "
        "SIP/2.0",
        "Via: SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK8A1F2B3C.4D5E6F70;branched=FALSE;"
        'ms-internal-info="aBcDeFgHiJ"',
        "Max-Forwards: 70",
        'Authentication-Info: NTLM rspauth="01000000000000007E9F0B24E3A1C2D4", srand="3F2A1B0C", '
        'snum="12", opaque="4E5A2B1C", qop="auth", targetname="fe01.contoso.com", '
        'realm="SIP Communications Service"',
        "From: <sip:alice@contoso.com>;tag=7e0a1b2c",
        "To: <sip:alice@contoso.com>;tag=c0ffee02;epid=8248ca9ebb",
        "Call-ID: 99887766554433221100ffeeddccbbaa",
        "CSeq: 4 BENOTIFY",
        "Event: vnd-microsoft-roaming-self",
        "subscription-state: active;expires=34564",
        "Content-Type: application/vnd-microsoft-roaming-self+xml; charset=UTF-8",
        "Content-Length: {CL}",
    ],
    '<roamingData xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self">é</roamingData>'.encode(),
)

MS_INVITE_SDP = (
    b"v=0\r\no=- 0 0 IN IP4 192.168.1.20\r\ns=session\r\nc=IN IP4 192.168.1.20\r\n"
    b"t=0 0\r\nm=audio 50010 RTP/SAVP 114 9 0 8\r\n"
)
MS_INVITE_BODY = (
    b"------=_NextPart_000_0013_01D2829A.C5E7F3A0\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"Content-ID: <d4c8b2e4d1b5ae5c7a8a1dc4c58b7e10@contoso.com>\r\n"
    b"Content-Disposition: session; handling=optional; ms-proxy-2007fallback\r\n"
    b"\r\n" + MS_INVITE_SDP + b"\r\n"
    b"------=_NextPart_000_0013_01D2829A.C5E7F3A0\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"Content-ID: <0c8b1d2e3f4a5b6c7d8e9f0a1b2c3d4e@contoso.com>\r\n"
    b"Content-Disposition: session; handling=optional\r\n"
    b"\r\n" + MS_INVITE_SDP + b"\r\n"
    b"------=_NextPart_000_0013_01D2829A.C5E7F3A0--\r\n"
)
MS_INVITE = build(
    [
        "INVITE sip:bob@contoso.com SIP/2.0",
        "Via: SIP/2.0/TLS 192.168.1.20:50512",
        "Max-Forwards: 70",
        'From: "Alice Example" <sip:alice@contoso.com>;tag=2d3e4f5a6b;epid=8248ca9ebb',
        "To: <sip:bob@contoso.com>",
        "Call-ID: a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "CSeq: 1 INVITE",
        "Contact: <sip:alice@contoso.com;opaque=user:epid:QUIZk9sYMFSmrVfgEr8r4gAA;gruu>",
        "User-Agent: UCCAPI/16.0.4417.1000 OC/16.0.4417.1000 (Skype for Business)",
        "Supported: ms-dialog-route-set-update",
        "Ms-Conversation-ID: AdKCmsXnWsuhc2xmTvmPnAzDf3dtcw==",
        "ms-text-format: text/plain; charset=UTF-8; "
        "msgr=WAAtAE0ATQBTAC0ASQBNAC0ARgBvAHIAbQBhAHQAOgAgAEYATgA9"
        "AFMAZQBnAG8AZQAlADIAMABVAEkAOwAgAEUARgA9ADsAIABDAE8APQAwADsAIABDAFMAPQAwADsAIABQAEYAPQAwAA0A"
        "CgANAAoA; ms-body=cXdl",
        'ms-client-diagnostics: 51007;reason="Callee media connectivity diagnosis info";'
        'CalleeMediaDebug="audio:ICEWarn=0x80000,LocalSite=10.0.0.1:50010,PortRange=1025:65000"',
        "EndPoints: <sip:alice@contoso.com>, <sip:bob@contoso.com>;epid=2ebb6f264f",
        "Allow: INVITE, BYE, ACK, CANCEL, INFO, UPDATE, MESSAGE, BENOTIFY",
        'Content-Type: multipart/alternative;boundary="----=_NextPart_000_0013_01D2829A.C5E7F3A0"',
        "Content-Length: {CL}",
    ],
    MS_INVITE_BODY,
)

MS_INFO = build(
    [
        "INFO sip:bob@contoso.com;opaque=user:epid:AbCdEfGhIjKlMnOpQrStUvAA;gruu SIP/2.0",
        "Via: SIP/2.0/TLS 192.168.1.20:50512",
        "Max-Forwards: 70",
        "From: <sip:alice@contoso.com>;tag=2d3e4f5a6b;epid=8248ca9ebb",
        "To: <sip:bob@contoso.com>;tag=5f6e7d8c;epid=2ebb6f264f",
        "Call-ID: a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "CSeq: 2 INFO",
        "Content-Type: application/xml",
        "Content-Length: {CL}",
    ],
    b'<?xml version="1.0"?><KeyboardActivity><status status="type"/></KeyboardActivity>',
)

MS_MESSAGES = {
    "register": MS_REGISTER,
    "401": MS_401,
    "negotiate": MS_NEGOTIATE,
    "negotiate_ok": MS_NEGOTIATE_OK,
    "service": MS_SERVICE,
    "benotify": MS_BENOTIFY,
    "invite": MS_INVITE,
    "info": MS_INFO,
}
