"""The tables' schemas: which NDJSON field becomes which typed column (docs/export.md).

A table is a list of :class:`Column`. The rules are few and the same everywhere, nested
structs included: an ``ENDPOINT`` field (``"10.0.0.1:5060"`` in JSON) becomes two columns
``<name>_ip`` and ``<name>_port``; a ``TIME`` (epoch seconds in JSON) becomes a UTC
timestamp in microseconds; ``JSON`` keeps an irregular value as JSON text; lists and objects
become list and struct columns. Pure Python: pyarrow is needed only to build Arrow types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STRING = "string"
INT = "int64"
PORT = "int32"
FLOAT = "float64"
BOOL = "bool"
TIME = "timestamp"
ENDPOINT = "endpoint"
JSON = "json"
COUNTS = "map<string,int64>"


@dataclass(frozen=True)
class ListOf:
    """A list column (JSON array) of ``item``."""

    item: Any


@dataclass(frozen=True)
class Struct:
    """A struct column (JSON object) with these fields."""

    fields: tuple[Column, ...]


@dataclass(frozen=True)
class Column:
    """One field: its name in the table, its type, and its key in the JSON when different."""

    name: str
    type: Any
    key: str | None = None

    @property
    def json_key(self) -> str:
        return self.key or self.name


def _cols(*spec: tuple[str, Any] | Column) -> tuple[Column, ...]:
    return tuple(c if isinstance(c, Column) else Column(*c) for c in spec)


#: What every row starts with: the input it came from and the frame (record, in a trace
#: log) that locates it there.
ROW_KEY = _cols(("source", STRING), ("frame", INT))

TRANSACTION = Struct(
    _cols(
        ("method", STRING), ("cseq", INT), ("branch", STRING), ("final_status", INT),
        ("outcome", STRING), ("responses", ListOf(INT)), ("request_retransmissions", INT),
        ("response_retransmissions", INT), ("cancelled", BOOL),
    )
)  # fmt: skip

SESSIONS = ROW_KEY + _cols(
    ("call_id", STRING), ("part", INT), ("kind", STRING), ("start", TIME), ("end", TIME),
    ("duration", FLOAT), ("from", STRING), ("to", STRING), ("participants", ListOf(STRING)),
    ("outcome", STRING), ("retransmissions", INT), ("message_count", INT),
    ("transactions", ListOf(TRANSACTION)), ("diagnostics", JSON),
)  # fmt: skip

MESSAGES = ROW_KEY + _cols(
    ("first_frame", INT), ("time", TIME), ("src", ENDPOINT), ("dst", ENDPOINT),
    ("transport", STRING), ("stream", INT), ("call_id", STRING), ("part", INT), ("cseq", INT),
    ("cseq_method", STRING), ("method", STRING), ("request_uri", STRING), ("status", INT),
    ("reason", STRING), ("from", STRING), ("to", STRING), ("from_tag", STRING),
    ("to_tag", STRING), ("content_type", STRING), ("body_size", INT), ("size", INT),
    ("compressed", BOOL), ("wire_size", INT), ("partial", BOOL), ("retransmission", BOOL),
    ("facts", ListOf(STRING)), ("defects", ListOf(STRING)), ("encapsulation", JSON),
    ("hop", Struct(_cols(("source", STRING), ("destination", STRING)))),
)  # fmt: skip

DTMF_EVENT = Struct(_cols(("event", INT), ("time", TIME), ("duration", INT), ("end", BOOL)))

#: A stream's fields (the streams table, and each item of a call's ``streams``).
STREAM_FIELDS = _cols(
    ("call_id", STRING), ("ssrc", INT), ("ssrc_hex", STRING), ("src", ENDPOINT),
    ("dst", ENDPOINT), ("payload", STRING), ("payload_types", ListOf(INT)),
    ("first_frame", INT), ("last_frame", INT), ("first_time", TIME), ("last_time", TIME),
    ("duration", FLOAT), ("packets", INT), ("expected", INT), ("lost", INT),
    ("lost_percent", FLOAT), ("sequence_errors", INT), ("duplicates", INT),
    ("out_of_order", INT), ("min_delta_ms", FLOAT), ("mean_delta_ms", FLOAT),
    ("max_delta_ms", FLOAT), ("max_delta_frame", INT), ("min_jitter_ms", FLOAT),
    ("mean_jitter_ms", FLOAT), ("max_jitter_ms", FLOAT), ("clock_rate", INT), ("bytes", INT),
    ("bitrate_kbps", FLOAT), ("markers", INT), ("problem", BOOL), ("mos", FLOAT),
    ("signalled", BOOL), ("encrypted", BOOL), ("srtp_decrypted", INT),
    ("srtp_auth_failures", INT), ("rtcp_reports", INT), ("rtcp_fraction_lost", FLOAT),
    ("rtcp_cumulative_lost", INT), ("rtcp_jitter_ms", FLOAT), ("rtcp_rtt_ms", FLOAT),
    ("bye", BOOL), ("dtmf", STRING), ("dtmf_events", ListOf(DTMF_EVENT)),
    ("join", STRING), ("candidate_calls", ListOf(STRING)), ("wrong_timestamps", INT),
    ("series", JSON),
)  # fmt: skip
STREAMS = ROW_KEY + STREAM_FIELDS

CALL_MEDIA = Struct(
    _cols(
        ("index", INT), ("media", STRING), ("proto", STRING), ("state", STRING),
        ("offer_address", ENDPOINT), ("answer_address", ENDPOINT), ("codecs", ListOf(STRING)),
        ("offered_codecs", ListOf(STRING)), ("label", STRING), ("direction", STRING),
        ("crypto_suite", STRING), ("offer_ufrag", STRING), ("answer_ufrag", STRING),
        ("offer_candidates", INT), ("answer_candidates", INT),
    )
)  # fmt: skip
EXCHANGE = Struct(
    _cols(
        ("kind", STRING), ("state", STRING), ("offer_frame", INT), ("answer_frame", INT),
        ("early", BOOL), ("rejected", INT),
        ("offer_parts", ListOf(Struct(_cols(("ice_version", STRING), ("fallback", BOOL))))),
        ("chosen_part", INT), ("media", ListOf(CALL_MEDIA)),
    )
)  # fmt: skip
NOMINATED_PAIR = Struct(
    _cols(
        ("local", ENDPOINT), ("remote", ENDPOINT), ("transport", STRING),
        ("local_type", STRING), ("remote_type", STRING), ("path", STRING),
    )
)  # fmt: skip
CALL_ALLOCATION = Struct(
    _cols(
        ("id", INT), ("transport", STRING), ("client", ENDPOINT), ("server", ENDPOINT),
        ("relayed", ListOf(ENDPOINT)), ("state", STRING), ("permissions", ListOf(ENDPOINT)),
        ("call_permissions", ListOf(ENDPOINT)),
    )
)  # fmt: skip
CALLS = ROW_KEY + _cols(
    ("call_id", STRING), ("kind", STRING), ("conference_role", STRING), ("caller", STRING),
    ("callee", STRING), ("start", TIME), ("answer_time", TIME), ("end", TIME),
    ("duration", FLOAT), ("state", STRING), ("end_reason", STRING),
    ("modalities", ListOf(STRING)), ("ice_version", STRING), ("media", ListOf(CALL_MEDIA)),
    ("exchanges", ListOf(EXCHANGE)), ("nominated_pair", NOMINATED_PAIR),
    ("allocations", ListOf(CALL_ALLOCATION)), ("streams", ListOf(Struct(STREAM_FIELDS))),
    ("final_status", INT), ("setup_time", FLOAT), ("invite_retransmissions", INT),
    ("bye_retransmissions", INT), ("holds", JSON), ("findings", JSON),
    ("ambiguous_streams", JSON),
)  # fmt: skip

STUN = ROW_KEY + _cols(
    ("time", TIME), ("src", ENDPOINT), ("dst", ENDPOINT), ("transport", STRING),
    ("relayed_depth", INT), ("flavor", STRING), ("type", STRING), ("name", STRING),
    ("class", STRING), ("transaction_id", STRING), ("length", INT), ("retransmission", BOOL),
    ("rtt", FLOAT), ("error", Struct(_cols(("code", INT), ("reason", STRING)))),
    ("fingerprint", STRING), ("integrity", STRING), ("attributes", JSON),
)  # fmt: skip

ROUND_TRIP = Struct(
    _cols(("cseq", INT), ("frame", INT), ("sent", STRING), ("status", INT), ("answer", STRING))
)
REGISTRATIONS = ROW_KEY + _cols(
    ("call_id", STRING), ("part", INT), ("start", TIME), ("end", TIME), ("outcome", STRING),
    ("user", STRING), ("schemes_offered", ListOf(STRING)), ("scheme_chosen", STRING),
    ("round_trips", ListOf(ROUND_TRIP)), ("remote", BOOL), ("identity", STRING),
    ("service", STRING), ("workstation", STRING), ("epid", STRING), ("instance", STRING),
    ("gruu", STRING), ("identity_consistent", BOOL), ("expires", INT), ("server", STRING),
    ("user_agent", STRING), ("failure", STRING), ("follow_ups", ListOf(STRING)),
    ("signatures", STRING),
)  # fmt: skip

IM_EVENT = Struct(
    _cols(
        ("time", TIME), ("frame", INT), ("sender", STRING), ("kind", STRING), ("text", STRING),
        ("content_type", STRING), ("status", STRING),
    )
)  # fmt: skip
IM = ROW_KEY + _cols(
    ("call_id", STRING), ("part", INT), ("start", TIME), ("end", TIME),
    ("participants", ListOf(STRING)), ("conversation_id", STRING),
    ("conversation_started", STRING), ("endpoints", ListOf(STRING)),
    ("roster_manager", STRING), ("messages", INT), ("events", ListOf(IM_EVENT)),
)  # fmt: skip

DEFECTS = ROW_KEY + _cols(("layer", STRING), ("offset", INT), ("reason", STRING))

CERTIFICATE = Struct(
    _cols(
        ("subject", STRING), ("issuer", STRING), ("san", ListOf(STRING)),
        ("not_before", STRING), ("not_after", STRING),
    )
)  # fmt: skip
TLS = Struct(
    _cols(
        ("version", STRING), ("cipher_suite", STRING), ("sni", STRING),
        ("certificate", CERTIFICATE), ("resumed", BOOL), ("renegotiations", INT),
        ("decrypted", BOOL), ("key_source", STRING), ("needs", STRING), ("note", STRING),
        ("alerts", ListOf(STRING)), ("records", INT), ("decrypted_records", INT),
        ("failed_records", INT), ("encrypted_bytes", INT), ("plaintext_bytes", INT),
        ("application", STRING), ("key_updates", INT),
    )
)  # fmt: skip
CONNECTIONS = ROW_KEY + _cols(
    ("id", INT), ("client", ENDPOINT), ("server", ENDPOINT), ("protocol", STRING),
    ("sip_messages", INT), ("compressed", BOOL), ("compression_layout", STRING),
    ("wire_bytes", INT), ("plain_bytes", INT), ("compression_ratio", FLOAT), ("tls", TLS),
    ("compression_assumed", BOOL), ("encapsulation", JSON),
)  # fmt: skip

CAPTURES = ROW_KEY + _cols(
    ("files", ListOf(STRING)), ("format", STRING), ("frames", INT), ("bytes", INT),
    ("first_time", TIME), ("last_time", TIME), ("udp_datagrams", INT), ("tcp_segments", INT),
    ("sip_messages", INT), ("methods", COUNTS), ("statuses", COUNTS), ("sessions", COUNTS),
    ("connections", INT), ("stun", JSON), ("defects_total", INT), ("error", STRING),
    ("log_events", JSON), ("calls", JSON), ("diagnostics", JSON), ("encapsulated", COUNTS),
    ("not_decoded", COUNTS), ("log_host", JSON),
)  # fmt: skip

#: Every table, by name, in the order the export writes them.
TABLES: dict[str, tuple[Column, ...]] = {
    "messages": MESSAGES,
    "sessions": SESSIONS,
    "calls": CALLS,
    "streams": STREAMS,
    "stun": STUN,
    "registrations": REGISTRATIONS,
    "im": IM,
    "defects": DEFECTS,
    "connections": CONNECTIONS,
    "captures": CAPTURES,
}


def arrow_type(t: Any) -> Any:
    """The pyarrow type of a column type (``ENDPOINT`` is two columns: see :func:`arrow_fields`)."""
    import pyarrow as pa

    if isinstance(t, ListOf):
        if t.item == ENDPOINT:
            return pa.list_(pa.struct([("ip", pa.string()), ("port", pa.int32())]))
        return pa.list_(arrow_type(t.item))
    if isinstance(t, Struct):
        return pa.struct(arrow_fields(t.fields))
    return {
        STRING: pa.string(),
        INT: pa.int64(),
        PORT: pa.int32(),
        FLOAT: pa.float64(),
        BOOL: pa.bool_(),
        TIME: pa.timestamp("us", tz="UTC"),
        JSON: pa.string(),
        COUNTS: pa.map_(pa.string(), pa.int64()),
    }[t]


def arrow_fields(columns: tuple[Column, ...]) -> list[Any]:
    """The pyarrow fields of some columns, endpoints split into ``_ip`` and ``_port``."""
    import pyarrow as pa

    out = []
    for c in columns:
        if c.type == ENDPOINT:
            out.append(pa.field(f"{c.name}_ip", pa.string()))
            out.append(pa.field(f"{c.name}_port", pa.int32()))
        else:
            out.append(pa.field(c.name, arrow_type(c.type)))
    return out


def arrow_schema(table: str) -> Any:
    """The pyarrow schema of a table."""
    import pyarrow as pa

    return pa.schema(arrow_fields(TABLES[table]))


def column_names(table: str) -> list[str]:
    """A table's column names in order (endpoints as their two columns)."""
    names: list[str] = []
    for c in TABLES[table]:
        if c.type == ENDPOINT:
            names.extend((f"{c.name}_ip", f"{c.name}_port"))
        else:
            names.append(c.name)
    return names


__all__ = [
    "BOOL", "COUNTS", "ENDPOINT", "FLOAT", "INT", "JSON", "PORT", "STRING", "TABLES", "TIME",
    "Column", "ListOf", "Struct", "arrow_fields", "arrow_schema", "arrow_type", "column_names",
]  # fmt: skip
