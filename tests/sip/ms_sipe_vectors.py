"""Test data: a real Communicator 2007 R2 <-> OCS 2007 R2 NTLMv2 exchange and its signatures.

Bytes and strings only (no code), as published in the pidgin-sipe test suite
(tieto/sipe src/core/sip-sec-ntlm-tests.c): password ``Pa$$word``, user ``User``, domain
``COSMO``. Also the [MS-NLMP] 4.2.4 NTLMv2 example values quoted there.
"""

PASSWORD = "Pa$$word"

TYPE2 = bytes.fromhex(
    "4E544C4D53535000020000000000000038000000F38298E2DD1BAAF4E7E218D1000000000000000096009600"
    "380000000502CE0E0000000F02000A0043004F0053004D004F000100180043004F0053004D004F002D004F00"
    "430053002D00520032000400160063006F0073006D006F002E006C006F00630061006C000300300063006F00"
    "73006D006F002D006F00630073002D00720032002E0063006F0073006D006F002E006C006F00630061006C00"
    "0500160063006F0073006D006F002E006C006F00630061006C0000000000"
)

TYPE3_B64 = (
    "TlRMTVNTUAADAAAAGAAYAHIAAADGAMYAigAAAAoACgBIAAAACAAIAFIAAAAYABgAWgAAABAAEABQAQAAVYKYYgUCzg4"
    "AAAAPQwBPAFMATQBPAFUAcwBlAHIAQwBPAFMATQBPAC0ATwBDAFMALQBSADIAoeku/k4Hi/fFwASazGFmwtauh1yw/a"
    "pBjcDIAK527KYG0rn769BHMQEBAAAAAAAAWVGaFye5ygHWrodcsP2qQQAAAAACAAoAQwBPAFMATQBPAAEAGABDAE8AU"
    "wBNAE8ALQBPAEMAUwAtAFIAMgAEABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAMAMABjAG8AcwBtAG8ALQBvAGMAcwAt"
    "AHIAMgAuAGMAbwBzAG0AbwAuAGwAbwBjAGEAbAAFABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAAAAAAAAAAAMctznhyo"
    "CkmFkeiueXEV5A=="
)

REQUEST = (
    "REGISTER sip:cosmo.local SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.168.172.6:12723\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15\r\n"
    "To: <sip:user@cosmo.local>\r\n"
    "Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
    "CSeq: 3 REGISTER\r\n"
    'Contact: <sip:192.168.172.6:12723;transport=tls;ms-opaque=fad3dfab32>;methods="INVITE, '
    'MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;'
    '+sip.instance="<urn:uuid:34D859DB-6585-5F91-A3B4-DE853C15347D>"\r\n'
    "User-Agent: UCCAPI/3.5.6907.0 OC/3.5.6907.0 (Microsoft Office Communicator 2007 R2)\r\n"
    "Supported: gruu-10, adhoclist, msrtc-event-categories\r\n"
    "Supported: ms-forking\r\n"
    "ms-keep-alive: UAC;hop-hop=yes\r\n"
    "Event: registration\r\n"
    'Proxy-Authorization: NTLM qop="auth", realm="SIP Communications Service", '
    'opaque="2BDBAC9D", targetname="cosmo-ocs-r2.cosmo.local", version=4, gssapi-data="'
    + TYPE3_B64
    + '", crand="13317733", cnum="1", response="0100000029618e9651b65a7764000000"\r\n'
    "Content-Length: 0\r\n"
    "\r\n"
).encode()

REQUEST_SIG = (
    "<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
    "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52>"
    "<sip:user@cosmo.local><><><><>"
)

RESPONSE = (
    b"SIP/2.0 200 OK\r\n"
    b"ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300\r\n"
    b'Authentication-Info: NTLM rspauth="01000000E615438A917661BE64000000", srand="9616454F", '
    b'snum="1", opaque="2BDBAC9D", qop="auth", targetname="cosmo-ocs-r2.cosmo.local", '
    b'realm="SIP Communications Service"\r\n'
    b'From: "User"<sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15\r\n'
    b"To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664\r\n"
    b"Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
    b"CSeq: 3 REGISTER\r\n"
    b"Via: SIP/2.0/TLS 192.168.172.6:12723;ms-received-port=12723;ms-received-cid=2600\r\n"
    b"Contact: <sip:192.168.172.6:12723;transport=tls;ms-opaque=fad3dfab32;ms-received-cid=2600>"
    b';expires=7200;+sip.instance="<urn:uuid:34d859db-6585-5f91-a3b4-de853c15347d>";'
    b'gruu="sip:user@cosmo.local;opaque=user:epid:21nYNIVlkV-jtN6FPBU0fQAA;gruu"\r\n'
    b"Expires: 7200\r\n"
    b'presence-state: register-action="added"\r\n'
    b"Allow-Events: vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,"
    b"vnd-microsoft-roaming-ACL,presence,presence.wpending,vnd-microsoft-roaming-self,"
    b"vnd-microsoft-provisioning-v2\r\n"
    b"Supported: adhoclist\r\n"
    b"Server: RTC/3.5\r\n"
    b"Supported: msrtc-event-categories\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

RESPONSE_SIG = (
    "<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
    "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52>"
    "<sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><7200><200>"
)

# A 180 relayed through OCS 2007 R2 (upper-case header names, P-Asserted-Identity).
SYMBIAN_180 = (
    b"SIP/2.0 180 Ringing\r\n"
    b'Authentication-Info: NTLM rspauth="010000003EA8D688BA51D5CD64000000", srand="1B6D47A1", '
    b'snum="11", opaque="357E6F72", qop="auth", targetname="LOC-COMPANYT-FE03.COMPANY.COM", '
    b'realm="SIP Communications Service"\r\n'
    b"Via: SIP/2.0/tls 192.168.44.10:50230;received=10.117.245.254;ms-received-port=50230;"
    b"ms-received-cid=37ABE00\r\n"
    b'FROM: "Sender"<sip:sender@company.com>;tag=2420628112;epid=54392f1bbf01\r\n'
    b'TO: "recipient"<sip:recipient@company.com>;tag=7aee15546a;epid=3102EB8BD1\r\n'
    b"CSEQ: 1 INVITE\r\n"
    b"CALL-ID: 41CEg82ECa0AC8i3DD7mE673t9CF4b19DAxF780x\r\n"
    b"CONTACT: <sip:recipient@company.com;opaque=user:epid:-gLwenLTVVqy-Ak8TJn1ZAAA;gruu>;text;"
    b"audio;video\r\n"
    b"CONTENT-LENGTH: 0\r\n"
    b"SUPPORTED: gruu-10\r\n"
    b"ALLOW: UPDATE\r\n"
    b'P-ASSERTED-IDENTITY: "recipient"<SIP:recipient@company.com>\r\n'
    b"SERVER: RTCC/3.5.0.0 MCXService/3.5.0.0 communicator.NOKIAS60R2.JVP.EN_US/1.0.6875.0\r\n"
    b"\r\n"
)

SYMBIAN_180_SIG = (
    "<NTLM><1B6D47A1><11><SIP Communications Service><LOC-COMPANYT-FE03.COMPANY.COM>"
    "<41CEg82ECa0AC8i3DD7mE673t9CF4b19DAxF780x><1><INVITE><sip:sender@company.com><2420628112>"
    "<sip:recipient@company.com><7aee15546a><SIP:recipient@company.com><><><180>"
)

# OCS 2007 (auth protocol version 2), signed without extended session security.
V2_RESPONSE = (
    b"SIP/2.0 200 OK\r\n"
    b"ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300\r\n"
    b'Authentication-Info: NTLM rspauth="0100000000000000BF2E52667DDF6DED", srand="0878F41B", '
    b'snum="1", opaque="4452DFB0", qop="auth", targetname="ocs1.ocs.provo.novell.com", '
    b'realm="SIP Communications Service"\r\n'
    b'From: "Gabriel Burt"<sip:gabriel@ocs.provo.novell.com>;tag=2947328781;epid=1234567890\r\n'
    b"To: <sip:gabriel@ocs.provo.novell.com>;tag=B816D65C2300A32CFA6D371F2AF537FD\r\n"
    b"Call-ID: 8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx\r\n"
    b"CSeq: 3 REGISTER\r\n"
    b"Via: SIP/2.0/TLS 164.99.194.49:10409;branch=z9hG4bKE0E37DBAF252C3255BAD;"
    b"received=164.99.195.20;ms-received-port=10409;ms-received-cid=1E00\r\n"
    b"Contact: <sip:164.99.195.20:10409;transport=tls;ms-received-cid=1E00>;expires=900\r\n"
    b"Expires: 900\r\n"
    b"Server: RTC/3.0\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

V2_SIG = (
    "<NTLM><0878F41B><1><SIP Communications Service><ocs1.ocs.provo.novell.com>"
    "<8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx><3><REGISTER><sip:gabriel@ocs.provo.novell.com>"
    "<2947328781><B816D65C2300A32CFA6D371F2AF537FD><900><200>"
)
V2_SESSION_KEY = bytes.fromhex("5F029153BC02505896954861 5E7099BA".replace(" ", ""))
