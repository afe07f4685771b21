"""SIP authentication headers as Microsoft uses them ([MS-SIPAE]): NTLM, Kerberos, TLS-DSK, Digest.

The six headers (``WWW-Authenticate``, ``Proxy-Authenticate``, ``Authorization``,
``Proxy-Authorization``, ``Authentication-Info``, ``Proxy-Authentication-Info``) share one
lenient grammar: a scheme token, then ``name=value`` pairs split on commas outside quotes.
Values are never escaped in MS-SIPAE and old examples even leave spaces unquoted, so a value
runs to the closing quote or to the next comma. Nothing here raises on bad text.

:func:`signature_buffer` rebuilds the text a ``response``/``rspauth`` signs (version 2 and
version 3/4 layouts, checked against real OCS 2007 R2 signatures); :func:`decode_token` turns
``gssapi-data`` into an NTLM, Kerberos or TLS-DSK object.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass, field

from ..errors import MalformedError
from .headers import canonical_name
from .message import SipMessage

__all__ = [
    "AUTH_HEADERS",
    "AuthParams",
    "TlsDskToken",
    "auth_headers",
    "decode_token",
    "parse_auth",
    "parse_tls_dsk",
    "signature_buffer",
    "signature_kind",
]

#: Canonical (lower-case) name → display name, in the order a reader expects them.
AUTH_HEADERS: dict[str, str] = {
    "www-authenticate": "WWW-Authenticate",
    "proxy-authenticate": "Proxy-Authenticate",
    "authorization": "Authorization",
    "proxy-authorization": "Proxy-Authorization",
    "authentication-info": "Authentication-Info",
    "proxy-authentication-info": "Proxy-Authentication-Info",
}
CHALLENGE_HEADERS = ("www-authenticate", "proxy-authenticate")
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization")
INFO_HEADERS = ("authentication-info", "proxy-authentication-info")

_MAX_PARAMS = 64
_MAX_TOKEN = 64 * 1024  # base64 gssapi-data larger than this is not decoded


@dataclass(slots=True)
class AuthParams:
    """One auth header value: scheme and parameters (names lower-cased, quotes removed)."""

    header: str
    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    raw: str = ""
    problems: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.params.get(name)

    @property
    def kind(self) -> str:
        """``challenge``, ``credentials`` or ``info`` from the header it came in."""
        key = self.header.lower()
        if key in CHALLENGE_HEADERS:
            return "challenge"
        if key in CREDENTIAL_HEADERS:
            return "credentials"
        return "info"

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def targetname(self) -> str | None:
        return self.params.get("targetname")

    @property
    def opaque(self) -> str | None:
        return self.params.get("opaque")

    @property
    def version(self) -> int | None:
        """Auth protocol version (``version=4``); None when absent (= version 2 behaviour)."""
        value = self.params.get("version")
        if (
            value is None
            or not (value.strip().isascii() and value.strip().isdigit())
            or len(value) > 4
        ):
            return None
        return int(value)

    @property
    def gssapi_data(self) -> str | None:
        return self.params.get("gssapi-data")

    @property
    def rand(self) -> str | None:
        """``crand`` (client) or ``srand`` (server) salt."""
        return self.params.get("crand") or self.params.get("srand")

    @property
    def num(self) -> str | None:
        """``cnum`` or ``snum`` sequence number, as sent."""
        return self.params.get("cnum") or self.params.get("snum")

    @property
    def signature(self) -> str | None:
        """The hex signature: ``response`` (client) or ``rspauth`` (server)."""
        if self.scheme.lower() == "digest":
            return None
        return self.params.get("response") or self.params.get("rspauth")

    @property
    def sts_uri(self) -> str | None:
        return self.params.get("sts-uri")

    def token(self) -> bytes | None:
        """``gssapi-data`` decoded from base64; None when absent, empty or not base64."""
        text = self.gssapi_data
        if not text or len(text) > _MAX_TOKEN:
            return None
        try:
            return base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None

    @property
    def sa_key(self) -> tuple[str, str, str, str]:
        """What names one security association: scheme, realm, targetname, opaque."""
        return (
            self.scheme.lower(),
            self.realm or "",
            self.targetname or "",
            self.opaque or "",
        )


# One ``name=value`` or ``name="value"`` of an auth header with the blanks around it; a list of
# them separated by single commas is read with regexes (the loop below reads anything else).
_PAIR = r'[ \t]*([^\s=,"]+)[ \t]*=[ \t]*(?:"([^"]*)"|([^\s,"]*))[ \t]*'
_PAIR_RE = re.compile(_PAIR + r"(?:,|\Z)")
_PLAIN_PAIRS_RE = re.compile(rf"{_PAIR}(?:,{_PAIR})*")


def parse_auth(value: str, header: str = "") -> AuthParams:
    """Read ``Scheme k="v", k=v, ...``; tolerant of spaces, odd quoting and bare tokens."""
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    if "=" in scheme:  # no scheme at all: parameters straight away
        scheme, rest = "", text
    scheme = scheme.rstrip(",")
    out = AuthParams(header=header, scheme=scheme, raw=value)
    if _PLAIN_PAIRS_RE.fullmatch(rest):  # the usual k="v", k=v list: one regex pass
        pairs = _PAIR_RE.findall(rest)
        if len(pairs) <= _MAX_PARAMS:
            params = out.params
            for name, quoted, bare in pairs:
                params.setdefault(name.lower(), quoted or bare)
            return out
    _read_params(rest, out)
    return out


def _read_params(rest: str, out: AuthParams) -> None:
    """The parameters of an auth header in any shape, with a problem for each odd one."""
    pos = 0
    n = len(rest)
    while pos < n and len(out.params) < _MAX_PARAMS:
        while pos < n and rest[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        eq = rest.find("=", pos)
        comma = rest.find(",", pos)
        if eq < 0 or (0 <= comma < eq):
            end = comma if comma >= 0 else n
            token = rest[pos:end].strip()
            if token:
                out.problems.append(f"parameter without value {token[:40]!r}")
            pos = end + 1
            continue
        name = rest[pos:eq].strip().lower()
        pos = eq + 1
        while pos < n and rest[pos] in " \t":
            pos += 1
        if pos < n and rest[pos] == '"':
            close = rest.find('"', pos + 1)
            if close < 0:
                out.problems.append(f"unterminated quote in {name}")
                val = rest[pos + 1 :]
                pos = n
            else:
                val = rest[pos + 1 : close]
                pos = close + 1
        else:
            end = rest.find(",", pos)
            end = n if end < 0 else end
            val = rest[pos:end].strip()
            pos = end
        if name:
            out.params.setdefault(name, val)


def auth_headers(m: SipMessage) -> list[AuthParams]:
    """Every auth header of a message, parsed, in the order sent (cached on the message)."""
    cache = m._cache
    found = cache.get("ms.auth")
    if found is None:
        result: list[AuthParams] = []
        # Looked up by name (one scan of a lazy message's header block finds them all), not
        # from the whole header index, which costs several times more.
        present = [(key, values) for key in AUTH_HEADERS if (values := m._values(key))]
        if len(present) < 2:  # none or one kind (most messages): in order from the lookup
            for key, values in present:
                result.extend(parse_auth(value, AUTH_HEADERS[key]) for value in values)
            cache["ms.auth"] = result
            return result
        for name, value in m.headers:  # several kinds: in the order sent
            key = canonical_name(name)
            display = AUTH_HEADERS.get(key)
            if display is not None:
                result.append(parse_auth(value, display))
        cache["ms.auth"] = found = result
    return found  # type: ignore[return-value]


def _addr_spec(value: str | None) -> str:
    """The URI of a name-addr exactly as sent (no display name, brackets or parameters)."""
    if not value:
        return ""
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        return value[lt + 1 : gt if gt >= 0 else None].strip()
    return value.split(";", 1)[0].strip()


def _tag(value: str | None) -> str:
    if not value:
        return ""
    rest = value[value.find(">") + 1 :] if ">" in value else value
    for param in rest.split(";")[1:]:
        name, _, val = param.partition("=")
        if name.strip().lower() == "tag":
            return val.strip().strip('"')
    return ""


def _pai(m: SipMessage) -> tuple[str, str]:
    values = m.header_values("P-Asserted-Identity") or m.header_values("P-Preferred-Identity")
    sip_uri = tel_uri = ""
    for v in values:
        uri = _addr_spec(v)
        low = uri.lower()
        if low.startswith("tel:"):
            tel_uri = tel_uri or uri
        elif low.startswith(("sip:", "sips:")):
            sip_uri = sip_uri or uri
    return sip_uri, tel_uri


def signature_buffer(m: SipMessage, auth: AuthParams, version: int | None) -> str:
    """The bracketed string a signature covers ([MS-SIPAE] 3.2.5.2, [MS-SIP] 3.1.4.2).

    ``version`` is the SA's auth protocol version (None or 2: the old layout without To-URI
    and P-Asserted-Identity). Values are taken exactly as sent, case preserved.
    """
    cseq = (m.header("CSeq") or "").strip().split(None, 1)
    cseq_num = cseq[0] if cseq else ""
    cseq_method = cseq[1].strip() if len(cseq) > 1 else ""
    from_value = m.header("From")
    to_value = m.header("To")
    parts = [
        auth.scheme,
        auth.rand or "",
        auth.num or "",
        auth.realm or "",
        auth.targetname or "",
        (m.header("Call-ID") or "").strip(),
        cseq_num,
        cseq_method,
        _addr_spec(from_value),
        _tag(from_value),
    ]
    if version is not None and version >= 3:
        pai_sip, pai_tel = _pai(m)
        parts += [_addr_spec(to_value), _tag(to_value), pai_sip, pai_tel]
    else:
        parts.append(_tag(to_value))
    parts.append((m.header("Expires") or "").strip())
    if m.status is not None:
        parts.append(str(m.status))
    return "".join(f"<{p}>" for p in parts)


def signature_kind(signature_hex: str | None) -> str | None:
    """Name the token by its size ([MS-SIPAE]): NTLM 16 B, Kerberos RC4 MIC 37 B, TLS-DSK HMAC."""
    if not signature_hex:
        return None
    n = len(signature_hex.strip()) // 2
    if n == 16 and signature_hex.startswith("01000000"):
        return "NTLM signature"
    if n == 37 and signature_hex.upper().startswith("6023"):
        return "Kerberos RC4 MIC"
    if n == 28 and signature_hex.startswith("0404"):
        return "Kerberos AES MIC"
    if n in (16, 20, 32, 48):
        return f"HMAC {n} B"
    return f"{n} B"


# -- TLS-DSK ----------------------------------------------------------------------------------

_HANDSHAKE_NAMES = {
    0: "HelloRequest",
    1: "ClientHello",
    2: "ServerHello",
    11: "Certificate",
    12: "ServerKeyExchange",
    13: "CertificateRequest",
    14: "ServerHelloDone",
    15: "CertificateVerify",
    16: "ClientKeyExchange",
    20: "Finished",
}


@dataclass(slots=True)
class TlsDskToken:
    """What a passive reader sees in TLS-DSK ``gssapi-data``: handshake steps and certificates."""

    messages: list[str] = field(default_factory=list)
    cipher_suite: int | None = None
    certificates: list[str] = field(default_factory=list)
    tls_version: str | None = None


def _cert_subject(der: bytes) -> str:
    try:
        from cryptography import x509

        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except Exception:  # noqa: BLE001 - any undecodable certificate is shown by size only
        return f"certificate of {len(der)} bytes (not decodable)"


def parse_tls_dsk(data: bytes) -> TlsDskToken:
    """Walk the TLS records of a TLS-DSK token; raises MalformedError (layer ``tls-dsk``)."""
    out = TlsDskToken()
    pos = 0
    encrypted = False
    while pos < len(data):
        if pos + 5 > len(data):
            raise MalformedError("tls-dsk", pos, "TLS record header cut short")
        ctype, major, minor, length = struct.unpack_from("!BBBH", data, pos)
        if ctype not in (20, 21, 22, 23) or major != 3:
            raise MalformedError("tls-dsk", pos, f"not a TLS record (type {ctype})")
        out.tls_version = out.tls_version or {0: "SSL3", 1: "TLS1.0", 2: "TLS1.1", 3: "TLS1.2"}.get(
            minor, f"3.{minor}"
        )
        body = data[pos + 5 : pos + 5 + length]
        if len(body) < length:
            raise MalformedError("tls-dsk", pos, "TLS record cut short")
        pos += 5 + length
        if ctype == 20:
            out.messages.append("ChangeCipherSpec")
            encrypted = True
            continue
        if ctype == 21:
            out.messages.append("Alert")
            continue
        if ctype != 22:
            out.messages.append("ApplicationData")
            continue
        if encrypted:
            out.messages.append("Finished")
            continue
        hpos = 0
        while hpos + 4 <= len(body):
            htype = body[hpos]
            hlen = int.from_bytes(body[hpos + 1 : hpos + 4], "big")
            hbody = body[hpos + 4 : hpos + 4 + hlen]
            if len(hbody) < hlen:
                raise MalformedError("tls-dsk", pos, "handshake message cut short")
            out.messages.append(_HANDSHAKE_NAMES.get(htype, f"handshake {htype}"))
            if htype == 2 and len(hbody) >= 38:
                sid_len = hbody[34]
                if len(hbody) >= 37 + sid_len:
                    out.cipher_suite = struct.unpack_from("!H", hbody, 35 + sid_len)[0]
            elif htype == 11 and len(hbody) >= 3:
                cpos = 3
                while cpos + 3 <= len(hbody) and len(out.certificates) < 8:
                    clen = int.from_bytes(hbody[cpos : cpos + 3], "big")
                    der = hbody[cpos + 3 : cpos + 3 + clen]
                    out.certificates.append(_cert_subject(der))
                    cpos += 3 + clen
            hpos += 4 + hlen
    return out


def decode_token(auth: AuthParams) -> object | None:
    """Decode ``gssapi-data`` by scheme: NtlmMessage, GssToken (Kerberos) or TlsDskToken.

    Raises MalformedError when the token is present but does not parse; None when empty.
    """
    data = auth.token()
    if not data:
        if auth.gssapi_data and auth.gssapi_data.strip():
            raise MalformedError("auth", None, "gssapi-data is not base64")
        return None
    scheme = auth.scheme.lower()
    if scheme == "ntlm" or data.startswith(b"NTLMSSP\x00"):
        from .ntlm import parse_ntlm

        return parse_ntlm(data)
    if scheme == "kerberos" or data[:1] == b"\x60":
        from .kerberos import parse_gss_token

        return parse_gss_token(data)
    if scheme == "tls-dsk":
        return parse_tls_dsk(data)
    return None
