/*
 * lyncdump._fastpath: the optional compiled fast path for RTP-heavy captures.
 *
 * Why: a capture of an Edge server is mostly RTP, and in pure Python every such packet costs
 * a record read, an Ethernet/IPv4/UDP decode, a flow lookup and a statistics update (~4 us).
 * This module does exactly that work for the packets where it is routine, and nothing else:
 *
 *   - RtpCore: the numeric state of one RTP stream, the base class of
 *     lyncdump.media.stats.StreamStats. Python's StreamStats.packet() reads and writes the
 *     same fields through member descriptors, so state is never split between the two paths.
 *     RelayCore does the same for lyncdump.analysis.ice.PeerTraffic (MS-TURN relayed counts).
 *   - FastPath: a table of (IPv4 5-tuple, SSRC) -> stream that Python fills once a flow is
 *     known to be plain RTP (register/forget; for MS-TURN relayed media the wire 4-tuple maps
 *     to the rewritten flow's stream and the peer's counts), and scan_pcap/scan_pcapng, which
 *     consume the records of a capture buffer for as long as each one is such a packet. The
 *     first record that is anything else (SIP, RTCP, STUN, TCP, a new SSRC, a payload type
 *     change, an event, a malformed header...) stops the scan, and Python decodes it the
 *     normal way.
 *
 * The rules below mirror net/decode.py, capture/pcap.py, capture/pcapng.py, media/pipeline.py,
 * media/stun_pipeline.py and media/stats.py line for line; tests/media/test_media_fastpath.py
 * checks that both paths give identical results. Floating point follows Python's evaluation
 * order, with contraction into fused multiply-add switched off (setup.py: -ffp-contract=off).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>
#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#define HAVE_DLOPEN 1
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* capture/source.py MAX_FRAME */
#define MAX_FRAME (256 * 1024)
/* Bound on table entries, whatever Python asks: the tables never grow past this. */
#define MAX_ENTRIES (1u << 20)

/* ------------------------------------------------------------------------------------------ */
/* RtpCore                                                                                      */

typedef struct {
    PyObject_HEAD
    long long ssrc;
    long long packets;
    long long bytes;
    long long last_frame;
    long long start_seq;
    long long stop_seq;
    long long last_seq;
    long long cycles;
    long long sequence_errors;
    long long duplicates;
    long long out_of_order;
    long long wrong_timestamps;
    long long markers;
    long long first_timestamp;
    long long last_timestamp;
    long long max_delta_frame;
    long long cur_pt;
    long long cur_clock;
    long long cur_khz;
    long long srtp_decrypted;
    double last_time;
    double last_nominal;
    double time_ms;
    double jitter;
    double min_delta;
    double max_delta;
    double mean_delta;
    double min_jitter;
    double max_jitter;
    double mean_jitter;
    char under;
    char problem;
    char cur_cn;
    char cur_event;
    /* the open bucket of the time series (media/series.py); series_end: Python's past it */
    double series_end;
    long long b_packets;
    double b_jitter_sum;
    long long b_jitter_n;
    double b_jitter_max;
    double b_delta_max;
} RtpCore;

#define LL(name, field) {name, T_LONGLONG, offsetof(RtpCore, field), 0, NULL}
#define DBL(name, field) {name, T_DOUBLE, offsetof(RtpCore, field), 0, NULL}
#define BOOL(name, field) {name, T_BOOL, offsetof(RtpCore, field), 0, NULL}

static PyMemberDef RtpCore_members[] = {
    LL("ssrc", ssrc),
    LL("packets", packets),
    LL("bytes", bytes),
    LL("last_frame", last_frame),
    LL("start_seq", start_seq),
    LL("stop_seq", stop_seq),
    LL("last_seq", last_seq),
    LL("cycles", cycles),
    LL("sequence_errors", sequence_errors),
    LL("duplicates", duplicates),
    LL("out_of_order", out_of_order),
    LL("wrong_timestamps", wrong_timestamps),
    LL("markers", markers),
    LL("first_timestamp", first_timestamp),
    LL("last_timestamp", last_timestamp),
    LL("max_delta_frame", max_delta_frame),
    LL("_cur_pt", cur_pt),
    LL("_cur_clock", cur_clock),
    LL("_cur_khz", cur_khz),
    LL("srtp_decrypted", srtp_decrypted),
    DBL("last_time", last_time),
    DBL("last_nominal", last_nominal),
    DBL("time_ms", time_ms),
    DBL("jitter", jitter),
    DBL("_min_delta", min_delta),
    DBL("max_delta", max_delta),
    DBL("mean_delta", mean_delta),
    DBL("_min_jitter", min_jitter),
    DBL("max_jitter", max_jitter),
    DBL("mean_jitter", mean_jitter),
    BOOL("under", under),
    BOOL("problem", problem),
    BOOL("_cur_cn", cur_cn),
    BOOL("_cur_event", cur_event),
    DBL("_series_end", series_end),
    LL("_b_packets", b_packets),
    DBL("_b_jitter_sum", b_jitter_sum),
    LL("_b_jitter_n", b_jitter_n),
    DBL("_b_jitter_max", b_jitter_max),
    DBL("_b_delta_max", b_delta_max),
    {NULL, 0, 0, 0, NULL},
};

/* Whether a packet of this payload type needs nothing but arithmetic (see core_packet). */
static inline int
core_routine(const RtpCore *s, long long pt)
{
    return pt == s->cur_pt && !s->cur_event && s->packets > 0 && s->cur_khz != 0;
}

/*
 * StreamStats.packet() for a packet that needs nothing but arithmetic: same payload type as
 * the previous packet, not a telephone event, not the stream's first packet. Returns 0 (and
 * changes nothing) for any other packet: Python's packet() must take it.
 */
static int
core_packet(RtpCore *s, long long frame, double ts, long long seq, long long rts, long long pt,
            int marker, long long size)
{
    if (!core_routine(s, pt) || !(ts < s->series_end)) /* a new time-series bucket: Python's */
        return 0;
    double now = ts * 1000.0;
    int irregular = s->cur_cn;
    s->bytes += size;
    s->last_frame = frame;
    s->last_time = ts;
    if (marker) {
        s->markers += 1;
        irregular = 1;
    }
    long long packets = s->packets;
    /* Time sequence as tshark 4.0 (StreamStats._packet): within 2^31 after the first timestamp. */
    long long first = s->first_timestamp;
    long long offset = (rts - first) & 0xFFFFFFFFLL;
    int in_time = rts >= first ? offset < 0x80000000LL : offset <= 0x80000000LL;
    if (!in_time) {
        s->wrong_timestamps += 1;
        s->problem = 1;
        irregular = 1;
    }
    else if (s->under) {
        if (seq > s->start_seq)
            s->under = 0;
    }
    else if (seq < s->start_seq || (seq == 0 && s->stop_seq == 65535)) {
        s->cycles += 1;
        s->under = 1;
    }
    long long last = s->last_seq;
    if (in_time && (last + 1 == seq || (last == 65535 && seq == 0))) {
        s->last_seq = seq;
    }
    else if (in_time && (last + 1 < seq || last - seq > 0xFF00)) {
        s->last_seq = seq;
        s->sequence_errors += 1;
        s->problem = 1;
    }
    else if (last + 1 > seq) {
        if (seq == last)
            s->duplicates += 1;
        else
            s->out_of_order += 1;
        s->sequence_errors += 1;
        s->problem = 1;
    }
    s->last_timestamp = rts;
    s->stop_seq = seq;
    s->packets = packets + 1;
    s->b_packets += 1;
    if (!in_time)
        return 1;
    double delta = now - s->time_ms;
    s->time_ms = now;
    if (delta > s->b_delta_max)
        s->b_delta_max = delta;
    if (s->cur_clock) {
        double nominal = (double)offset / (double)s->cur_khz;
        double diff = delta - nominal;
        diff = diff + s->last_nominal;
        if (diff < 0)
            diff = -diff;
        double jitter = 15.0 * s->jitter;
        jitter = jitter + diff;
        jitter = jitter / 16.0;
        s->jitter = jitter;
        s->last_nominal = nominal;
        s->b_jitter_sum += jitter;
        s->b_jitter_n += 1;
        if (jitter > s->b_jitter_max)
            s->b_jitter_max = jitter;
        if (irregular)
            return 1;
        if (jitter > s->max_jitter)
            s->max_jitter = jitter;
        double mean = s->mean_jitter * (double)(packets - 1);
        mean = mean + jitter;
        s->mean_jitter = mean / (double)packets;
        if (jitter < s->min_jitter)
            s->min_jitter = jitter;
    }
    else if (irregular) {
        return 1;
    }
    if (delta > s->max_delta) {
        s->max_delta = delta;
        s->max_delta_frame = frame;
    }
    if (delta < s->min_delta)
        s->min_delta = delta;
    double mean = s->mean_delta * (double)(packets - 1);
    mean = mean + delta;
    s->mean_delta = mean / (double)packets;
    return 1;
}

static PyObject *
RtpCore_fast_packet(RtpCore *self, PyObject *args)
{
    long long frame, seq, rts, pt, size;
    double ts;
    int marker;
    if (!PyArg_ParseTuple(args, "LdLLLpL:_fast_packet", &frame, &ts, &seq, &rts, &pt, &marker,
                          &size))
        return NULL;
    return PyBool_FromLong(core_packet(self, frame, ts, seq, rts, pt, marker, size));
}

/* "_packet": StreamStats' Python implementation, called for every packet that is not routine */
static PyObject *str_slow_packet;
/* The pipe methods the SIP-over-TCP fast path calls (interned at import). */
static PyObject *str_deliver, *str_tls_record, *str_raw_data, *str_sipcomp_rest;
static PyObject *str_tls_plain, *str_tls_sync, *str_negotiation;

/*
 * StreamStats.packet(frame, ts, seq, rts, pt, marker, size, payload=None): routine packets are
 * accounted here, every other one by the Python implementation StreamStats._packet. This keeps
 * the Python path (NetMon captures, live capture, IPv6...) fast on these C fields too.
 */
static PyObject *
RtpCore_packet(RtpCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nkw == 0 && (nargs == 7 || nargs == 8) && PyLong_CheckExact(args[0]) &&
        PyFloat_CheckExact(args[1]) &&
        PyLong_CheckExact(args[2]) && PyLong_CheckExact(args[3]) && PyLong_CheckExact(args[4]) &&
        PyLong_CheckExact(args[5]) && PyLong_CheckExact(args[6])) {
        int overflow = 0, o;
        long long frame = PyLong_AsLongLongAndOverflow(args[0], &o);
        overflow |= o;
        long long seq = PyLong_AsLongLongAndOverflow(args[2], &o);
        overflow |= o;
        long long rts = PyLong_AsLongLongAndOverflow(args[3], &o);
        overflow |= o;
        long long pt = PyLong_AsLongLongAndOverflow(args[4], &o);
        overflow |= o;
        long long marker = PyLong_AsLongLongAndOverflow(args[5], &o);
        overflow |= o;
        long long size = PyLong_AsLongLongAndOverflow(args[6], &o);
        overflow |= o;
        if (PyErr_Occurred())
            return NULL;
        if (!overflow &&
            core_packet(self, frame, PyFloat_AS_DOUBLE(args[1]), seq, rts, pt, marker != 0, size))
            Py_RETURN_NONE;
    }
    PyObject *stack[10];
    if (nargs + nkw > 9) {
        PyErr_SetString(PyExc_TypeError, "packet() takes at most 8 arguments");
        return NULL;
    }
    stack[0] = (PyObject *)self;
    for (Py_ssize_t i = 0; i < nargs + nkw; i++)
        stack[i + 1] = args[i];
    return PyObject_VectorcallMethod(str_slow_packet, stack,
                                     (size_t)(nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
}

static PyMethodDef RtpCore_methods[] = {
    {"packet", (PyCFunction)(void (*)(void))RtpCore_packet, METH_FASTCALL | METH_KEYWORDS,
     "packet(frame, ts, seq, rts, pt, marker, size, payload=None)\n\n"
     "Account one RTP packet: routine ones here, the others by the subclass's _packet()."},
    {"_fast_packet", (PyCFunction)RtpCore_fast_packet, METH_VARARGS,
     "_fast_packet(frame, ts, seq, rts, pt, marker, size) -> bool\n\n"
     "The compiled twin of StreamStats.packet() for a routine packet; False (nothing changed)\n"
     "when the packet needs the Python path. For tests."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RtpCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lyncdump._fastpath.RtpCore",
    .tp_basicsize = sizeof(RtpCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Numeric state of one RTP stream, shared by the Python and the compiled path.",
    .tp_new = PyType_GenericNew,
    .tp_members = RtpCore_members,
    .tp_methods = RtpCore_methods,
};

/* ------------------------------------------------------------------------------------------ */
/* RelayCore: what an MS-TURN allocation relayed to and from one peer (base of PeerTraffic).   */

typedef struct {
    PyObject_HEAD
    long long packets_to_peer;
    long long bytes_to_peer;
    long long packets_from_peer;
    long long bytes_from_peer;
    long long fast_rtp; /* RTP packets counted here, added to PeerTraffic.kinds["rtp"] */
} RelayCore;

static PyMemberDef RelayCore_members[] = {
    {"packets_to_peer", T_LONGLONG, offsetof(RelayCore, packets_to_peer), 0, NULL},
    {"bytes_to_peer", T_LONGLONG, offsetof(RelayCore, bytes_to_peer), 0, NULL},
    {"packets_from_peer", T_LONGLONG, offsetof(RelayCore, packets_from_peer), 0, NULL},
    {"bytes_from_peer", T_LONGLONG, offsetof(RelayCore, bytes_from_peer), 0, NULL},
    {"_fast_rtp", T_LONGLONG, offsetof(RelayCore, fast_rtp), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject RelayCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lyncdump._fastpath.RelayCore",
    .tp_basicsize = sizeof(RelayCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Relayed packet and byte counts of one TURN peer, shared by both paths.",
    .tp_new = PyType_GenericNew,
    .tp_members = RelayCore_members,
};

/* ------------------------------------------------------------------------------------------ */
/* SRTP: the rollover state of one sender under one key (base of media/srtp.py _SsrcState),    */
/* and HMAC-SHA1 (RFC 2104, FIPS 180-4) to authenticate packets as SrtpContext.unprotect does. */

typedef struct {
    PyObject_HEAD
    long long roc;
    long long s_l;
    char started;
} SrtpCore;

static PyMemberDef SrtpCore_members[] = {
    {"roc", T_LONGLONG, offsetof(SrtpCore, roc), 0, NULL},
    {"s_l", T_LONGLONG, offsetof(SrtpCore, s_l), 0, NULL},
    {"started", T_BOOL, offsetof(SrtpCore, started), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SrtpCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lyncdump._fastpath.SrtpCore",
    .tp_basicsize = sizeof(SrtpCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "SRTP rollover state of one sender under one key, shared by both paths.",
    .tp_new = PyType_GenericNew,
    .tp_members = SrtpCore_members,
};

typedef struct {
    uint32_t h[5];
    uint64_t length; /* bytes hashed so far */
    unsigned char block[64];
    size_t used;
} Sha1;

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void
sha1_compress(uint32_t h[5], const unsigned char *p)
{
    /* 80 steps written out, the five working variables changing roles instead of places,
       and the message schedule kept in 16 words (FIPS 180-4 6.1.2, its alternative method) */
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
#define F0(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define F1(x, y, z) ((x) ^ (y) ^ (z))
#define F2(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define SCHED(t)                                                                               \
    (w[(t)&15] = ROTL(w[((t) + 13) & 15] ^ w[((t) + 8) & 15] ^ w[((t) + 2) & 15] ^ w[(t)&15], 1))
#define STEP(v, x, y, z, u, f, k, word)                                                        \
    u += ROTL(v, 5) + f(x, y, z) + (k) + (word);                                               \
    x = ROTL(x, 30)
    STEP(a, b, c, d, e, F0, 0x5A827999, w[0]);
    STEP(e, a, b, c, d, F0, 0x5A827999, w[1]);
    STEP(d, e, a, b, c, F0, 0x5A827999, w[2]);
    STEP(c, d, e, a, b, F0, 0x5A827999, w[3]);
    STEP(b, c, d, e, a, F0, 0x5A827999, w[4]);
    STEP(a, b, c, d, e, F0, 0x5A827999, w[5]);
    STEP(e, a, b, c, d, F0, 0x5A827999, w[6]);
    STEP(d, e, a, b, c, F0, 0x5A827999, w[7]);
    STEP(c, d, e, a, b, F0, 0x5A827999, w[8]);
    STEP(b, c, d, e, a, F0, 0x5A827999, w[9]);
    STEP(a, b, c, d, e, F0, 0x5A827999, w[10]);
    STEP(e, a, b, c, d, F0, 0x5A827999, w[11]);
    STEP(d, e, a, b, c, F0, 0x5A827999, w[12]);
    STEP(c, d, e, a, b, F0, 0x5A827999, w[13]);
    STEP(b, c, d, e, a, F0, 0x5A827999, w[14]);
    STEP(a, b, c, d, e, F0, 0x5A827999, w[15]);
    STEP(e, a, b, c, d, F0, 0x5A827999, SCHED(16));
    STEP(d, e, a, b, c, F0, 0x5A827999, SCHED(17));
    STEP(c, d, e, a, b, F0, 0x5A827999, SCHED(18));
    STEP(b, c, d, e, a, F0, 0x5A827999, SCHED(19));
    STEP(a, b, c, d, e, F1, 0x6ED9EBA1, SCHED(20));
    STEP(e, a, b, c, d, F1, 0x6ED9EBA1, SCHED(21));
    STEP(d, e, a, b, c, F1, 0x6ED9EBA1, SCHED(22));
    STEP(c, d, e, a, b, F1, 0x6ED9EBA1, SCHED(23));
    STEP(b, c, d, e, a, F1, 0x6ED9EBA1, SCHED(24));
    STEP(a, b, c, d, e, F1, 0x6ED9EBA1, SCHED(25));
    STEP(e, a, b, c, d, F1, 0x6ED9EBA1, SCHED(26));
    STEP(d, e, a, b, c, F1, 0x6ED9EBA1, SCHED(27));
    STEP(c, d, e, a, b, F1, 0x6ED9EBA1, SCHED(28));
    STEP(b, c, d, e, a, F1, 0x6ED9EBA1, SCHED(29));
    STEP(a, b, c, d, e, F1, 0x6ED9EBA1, SCHED(30));
    STEP(e, a, b, c, d, F1, 0x6ED9EBA1, SCHED(31));
    STEP(d, e, a, b, c, F1, 0x6ED9EBA1, SCHED(32));
    STEP(c, d, e, a, b, F1, 0x6ED9EBA1, SCHED(33));
    STEP(b, c, d, e, a, F1, 0x6ED9EBA1, SCHED(34));
    STEP(a, b, c, d, e, F1, 0x6ED9EBA1, SCHED(35));
    STEP(e, a, b, c, d, F1, 0x6ED9EBA1, SCHED(36));
    STEP(d, e, a, b, c, F1, 0x6ED9EBA1, SCHED(37));
    STEP(c, d, e, a, b, F1, 0x6ED9EBA1, SCHED(38));
    STEP(b, c, d, e, a, F1, 0x6ED9EBA1, SCHED(39));
    STEP(a, b, c, d, e, F2, 0x8F1BBCDC, SCHED(40));
    STEP(e, a, b, c, d, F2, 0x8F1BBCDC, SCHED(41));
    STEP(d, e, a, b, c, F2, 0x8F1BBCDC, SCHED(42));
    STEP(c, d, e, a, b, F2, 0x8F1BBCDC, SCHED(43));
    STEP(b, c, d, e, a, F2, 0x8F1BBCDC, SCHED(44));
    STEP(a, b, c, d, e, F2, 0x8F1BBCDC, SCHED(45));
    STEP(e, a, b, c, d, F2, 0x8F1BBCDC, SCHED(46));
    STEP(d, e, a, b, c, F2, 0x8F1BBCDC, SCHED(47));
    STEP(c, d, e, a, b, F2, 0x8F1BBCDC, SCHED(48));
    STEP(b, c, d, e, a, F2, 0x8F1BBCDC, SCHED(49));
    STEP(a, b, c, d, e, F2, 0x8F1BBCDC, SCHED(50));
    STEP(e, a, b, c, d, F2, 0x8F1BBCDC, SCHED(51));
    STEP(d, e, a, b, c, F2, 0x8F1BBCDC, SCHED(52));
    STEP(c, d, e, a, b, F2, 0x8F1BBCDC, SCHED(53));
    STEP(b, c, d, e, a, F2, 0x8F1BBCDC, SCHED(54));
    STEP(a, b, c, d, e, F2, 0x8F1BBCDC, SCHED(55));
    STEP(e, a, b, c, d, F2, 0x8F1BBCDC, SCHED(56));
    STEP(d, e, a, b, c, F2, 0x8F1BBCDC, SCHED(57));
    STEP(c, d, e, a, b, F2, 0x8F1BBCDC, SCHED(58));
    STEP(b, c, d, e, a, F2, 0x8F1BBCDC, SCHED(59));
    STEP(a, b, c, d, e, F1, 0xCA62C1D6, SCHED(60));
    STEP(e, a, b, c, d, F1, 0xCA62C1D6, SCHED(61));
    STEP(d, e, a, b, c, F1, 0xCA62C1D6, SCHED(62));
    STEP(c, d, e, a, b, F1, 0xCA62C1D6, SCHED(63));
    STEP(b, c, d, e, a, F1, 0xCA62C1D6, SCHED(64));
    STEP(a, b, c, d, e, F1, 0xCA62C1D6, SCHED(65));
    STEP(e, a, b, c, d, F1, 0xCA62C1D6, SCHED(66));
    STEP(d, e, a, b, c, F1, 0xCA62C1D6, SCHED(67));
    STEP(c, d, e, a, b, F1, 0xCA62C1D6, SCHED(68));
    STEP(b, c, d, e, a, F1, 0xCA62C1D6, SCHED(69));
    STEP(a, b, c, d, e, F1, 0xCA62C1D6, SCHED(70));
    STEP(e, a, b, c, d, F1, 0xCA62C1D6, SCHED(71));
    STEP(d, e, a, b, c, F1, 0xCA62C1D6, SCHED(72));
    STEP(c, d, e, a, b, F1, 0xCA62C1D6, SCHED(73));
    STEP(b, c, d, e, a, F1, 0xCA62C1D6, SCHED(74));
    STEP(a, b, c, d, e, F1, 0xCA62C1D6, SCHED(75));
    STEP(e, a, b, c, d, F1, 0xCA62C1D6, SCHED(76));
    STEP(d, e, a, b, c, F1, 0xCA62C1D6, SCHED(77));
    STEP(c, d, e, a, b, F1, 0xCA62C1D6, SCHED(78));
    STEP(b, c, d, e, a, F1, 0xCA62C1D6, SCHED(79));
#undef STEP
#undef SCHED
#undef F0
#undef F1
#undef F2
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void
sha1_init(Sha1 *c)
{
    c->h[0] = 0x67452301;
    c->h[1] = 0xEFCDAB89;
    c->h[2] = 0x98BADCFE;
    c->h[3] = 0x10325476;
    c->h[4] = 0xC3D2E1F0;
    c->length = 0;
    c->used = 0;
}

static void
sha1_update(Sha1 *c, const unsigned char *p, size_t n)
{
    c->length += n;
    if (c->used) {
        size_t take = 64 - c->used < n ? 64 - c->used : n;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        n -= take;
        if (c->used < 64)
            return;
        sha1_compress(c->h, c->block);
        c->used = 0;
    }
    while (n >= 64) {
        sha1_compress(c->h, p);
        p += 64;
        n -= 64;
    }
    memcpy(c->block, p, n);
    c->used = n;
}

static void
sha1_final(Sha1 *c, unsigned char out[20])
{
    uint64_t bits = c->length * 8;
    static const unsigned char padding[64] = {0x80};
    sha1_update(c, padding, c->used < 56 ? 56 - c->used : 120 - c->used);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(c, len, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

/* An HMAC-SHA1 key, as the hash states after the inner and the outer pad. */
typedef struct {
    Sha1 inner, outer;
    int tag_length, mki_length;
} HmacKey;

static void
hmac_key(HmacKey *k, const unsigned char *key, size_t n)
{
    unsigned char block[64], digest[20];
    if (n > 64) {
        Sha1 c;
        sha1_init(&c);
        sha1_update(&c, key, n);
        sha1_final(&c, digest);
        key = digest;
        n = 20;
    }
    memset(block, 0, 64);
    memcpy(block, key, n);
    unsigned char pad[64];
    for (int i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x36;
    sha1_init(&k->inner);
    sha1_update(&k->inner, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x5c;
    sha1_init(&k->outer);
    sha1_update(&k->outer, pad, 64);
}

/* HMAC-SHA1 of a || b (b may be empty). */
static void
hmac_sha1(const HmacKey *k, const unsigned char *a, size_t na, const unsigned char *b,
          size_t nb, unsigned char out[20])
{
    Sha1 c = k->inner;
    sha1_update(&c, a, na);
    if (nb)
        sha1_update(&c, b, nb);
    unsigned char inner[20];
    sha1_final(&c, inner);
    c = k->outer;
    sha1_update(&c, inner, 20);
    sha1_final(&c, out);
}

static PyObject *
fast_hmac_sha1(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer key, data;
    if (!PyArg_ParseTuple(args, "y*y*:hmac_sha1", &key, &data))
        return NULL;
    HmacKey k;
    hmac_key(&k, key.buf, (size_t)key.len);
    unsigned char out[20];
    hmac_sha1(&k, data.buf, (size_t)data.len, NULL, 0, out);
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    return PyBytes_FromStringAndSize((const char *)out, 20);
}

/* media/stats.py rtp_header_length: bytes of RTP header, or -1 when it does not fit. */
static Py_ssize_t
rtp_header_length(const unsigned char *p, Py_ssize_t n)
{
    if (n < 12)
        return -1;
    Py_ssize_t offset = 12 + 4 * (p[0] & 0x0F);
    if (p[0] & 0x10) {
        if (offset + 4 > n)
            return -1;
        offset += 4 + 4 * ((Py_ssize_t)p[offset + 2] << 8 | p[offset + 3]);
    }
    return offset <= n ? offset : -1;
}

/* SrtpContext._estimate: the rollover counter this sequence number most likely belongs to. */
static long long
srtp_estimate(const SrtpCore *st, long long seq)
{
    if (!st->started)
        return st->roc;
    long long s_l = st->s_l;
    if (s_l < 32768) {
        if (seq - s_l > 32768)
            return (st->roc - 1) & 0xFFFFFFFFLL;
        return st->roc;
    }
    if (s_l - 32768 > seq)
        return (st->roc + 1) & 0xFFFFFFFFLL;
    return st->roc;
}

/* SrtpContext.unprotect's check: 1 when the tag is right (nothing changed yet), else 0. */
static int
srtp_authentic(const HmacKey *k, const SrtpCore *st, const unsigned char *p, Py_ssize_t n,
               long long seq, long long *roc_out)
{
    Py_ssize_t hlen = rtp_header_length(p, n);
    Py_ssize_t trailer = k->mki_length + k->tag_length;
    if (hlen < 0 || n < hlen + trailer)
        return 0;
    long long roc = srtp_estimate(st, seq);
    unsigned char rocb[4] = {(unsigned char)(roc >> 24), (unsigned char)(roc >> 16),
                             (unsigned char)(roc >> 8), (unsigned char)roc};
    unsigned char mac[20];
    hmac_sha1(k, p, (size_t)(n - trailer), rocb, 4, mac);
    if (memcmp(mac, p + n - k->tag_length, (size_t)k->tag_length) != 0)
        return 0;
    *roc_out = roc;
    return 1;
}

/* The state update of an authentic packet, as SrtpContext.unprotect makes it. */
static void
srtp_accept(SrtpCore *st, long long seq, long long roc)
{
    if (!st->started) {
        st->started = 1;
        st->s_l = seq;
        st->roc = roc;
    }
    else if (roc == st->roc && seq > st->s_l) {
        st->s_l = seq;
    }
    else if (roc == ((st->roc + 1) & 0xFFFFFFFFLL)) {
        st->roc = roc;
        st->s_l = seq;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Tables: open addressing, linear probing, no deletion (forgetting a flow bumps its epoch).    */

/* A UDP 4-tuple as Python keys it: (src, sport, dst, dport), 4- or 16-byte addresses. Keys are
   zeroed before they are filled, so they compare and hash as plain bytes. */
typedef struct {
    unsigned char src[16], dst[16];
    uint16_t sport, dport;
    uint32_t family; /* 4 or 6 */
} FlowKey;

typedef struct {
    FlowKey key;
    uint32_t epoch; /* 0 = empty slot */
} FlowEntry;

typedef struct {
    FlowKey key;
    uint32_t ssrc;
    uint32_t epoch; /* the flow's epoch when registered */
    uint32_t used;
    RtpCore *stream;  /* strong reference, or NULL */
    RelayCore *relay; /* MS-TURN relayed media: the peer's counts (strong reference), or NULL */
    int to_peer;      /* relayed towards the peer (else from it) */
    SrtpCore *srtp;   /* SRTP with a known key: the sender's rollover state, or NULL */
    HmacKey *auth;    /* and its authentication key (owned) */
} StreamEntry;

static inline uint64_t
mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint64_t
flow_hash(const FlowKey *k)
{
    uint64_t w[4];
    memcpy(w, k->src, 16);
    memcpy(w + 2, k->dst, 16);
    uint64_t h = mix((uint64_t)k->sport << 32 | (uint64_t)k->dport << 16 | k->family);
    for (int i = 0; i < 4; i++)
        h = mix(h ^ w[i]);
    return h;
}

static inline int
key_equal(const FlowKey *a, const FlowKey *b)
{
    return memcmp(a, b, sizeof(FlowKey)) == 0;
}

/* One direction of a TCP connection whose routine SIP Python handed over (sip_own): the
   bytes after the last message framed, with the frame and time each segment brought. */
typedef struct {
    Py_ssize_t start; /* offset in buf of the segment's first byte still held */
    long long frame;
    double ts;
} SipChunk;

typedef struct {
    FlowKey key;    /* as on the wire: this direction's sender first */
    int direction;  /* 0: client to server */
    int kind;       /* READ_SIP, READ_RAW, READ_TLS or READ_SIPCOMP: how segments are read */
    /* READ_FIRST: a READ_SIP direction taken before its first byte; its first segment is
       read here only when Python's sniff would call it SIP (sip_first_is_sip) */
    int first;
    uint32_t nxt32; /* the sequence number of the next byte */
    long long taken;  /* bytes taken since the hand-over */
    long long framed; /* of which framed: messages and the CR/LF between them */
    long long last_frame;
    double last_ts;
    Py_ssize_t max_message;
    unsigned char *buf; /* the bytes not framed yet (a message in progress) */
    Py_ssize_t len, cap;
    SipChunk *chunks;
    Py_ssize_t nchunks, chunk_cap;
    /* The connection's TcpConnectionPipeline (strong reference), whose methods are called
       by name: _deliver (a message), _tls_record (a record), _raw_data (a segment read raw),
       reclaim (the direction given back; _sipcomp_rest for an MS-SIPCOMP one that holds
       nothing). No bound method is kept per direction. */
    PyObject *pipe;
    struct SipcompState *sc; /* READ_SIPCOMP only (sipcomp_adopt), else NULL */
    struct TlsCache *tc;     /* READ_TLS opening routine records here (tls_adopt), else NULL */
} SipFlow;

/* What a direction read as READ_SIPCOMP adds (allocated apart, so that the other kinds'
   state stays as small as it was): the decoder's 8 KiB history (a bytearray of Python's
   MppcDecompressor, strong reference, written in place) and its write position; the
   compressed bytes decoded here since the hand-over; the frame of the last packet whose
   plain bytes were all framed. With thousands of live compressed directions nothing of one
   stays cached between its packets: what every segment reads or writes is the first 64
   bytes, and the state is allocated on a 64-byte boundary (sipcomp_new), so a segment
   touches one line of it; the history's bytes are reached through `hbuf`, not through the
   bytearray object (whose header would be one more line). */
typedef struct SipcompState {
    /* hot: one cache line */
    /* hist's bytes: pinned by `view` (an export: the bytearray cannot be resized or moved
       while it is held), NULL while `fresh` */
    unsigned char *hbuf;
    Py_ssize_t hpos;
    /* The connection's decompression budget as mirrored here (sipcomp_charge), shared with
       the other direction when both are read here; NULL when the connection has none. */
    struct BudgetMirror *conn;
    /* Bytes on the wire and plain bytes of the packets charged here that the connection's
       summary does not count yet (sipcomp_flush). */
    long long sum_wire, sum_plain;
    long long consumed;
    long long plain_frame;
    /* fresh: the decoder was handed over before its first packet (stream.py handover gives
       (None, 0)): the layout is recognised here on that packet (sipcomp_first), or the
       direction goes back to Python. */
    int fresh;
    int listed;
    /* cold */
    PyObject *hist; /* NULL while `fresh` */
    Py_buffer view; /* hist's export while pinned (view.obj NULL when not: sipcomp_unpin) */
    /* made: the history was made here (given back at reclaim, for the decoder to adopt) */
    int made;
    PyObject *pipe; /* the flow's (borrowed) */
    /* FastPath.bdirty, the states with something to write: a state stays listed from its
       first charge to its hand-back, so a run holds every live compressed direction there;
       prev_dirty (the pointer that points at this state) takes one off in constant time
       (a walk from the front made the end of a run quadratic in the open connections). */
    struct SipcompState *next_dirty, **prev_dirty;
    void *raw; /* the allocation the state lies in (sipcomp_new) */
} SipcompState;

_Static_assert(offsetof(SipcompState, listed) + sizeof(int) <= 64,
               "SipcompState's hot fields fit one cache line");

/* A zeroed state on a 64-byte boundary, or NULL (no exception set). */
static SipcompState *
sipcomp_new(void)
{
    void *raw = PyMem_Calloc(1, sizeof(SipcompState) + 63);
    if (raw == NULL)
        return NULL;
    SipcompState *sc = (SipcompState *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    sc->raw = raw;
    return sc;
}

/* Let go of the history's export (before Python may use the bytearray again as its own, and
   before the reference goes). No Python code runs. */
static void
sipcomp_unpin(SipcompState *sc)
{
    sc->hbuf = NULL;
    if (sc->view.obj != NULL)
        PyBuffer_Release(&sc->view);
}

/* Make `hist` (an 8192-byte bytearray, or NULL) the state's history, its bytes pinned (a new
   reference is taken). 0, or -1 on a Python error (the state then has no history). */
static int
sipcomp_set_hist(SipcompState *sc, PyObject *hist)
{
    sipcomp_unpin(sc);
    Py_XSETREF(sc->hist, Py_XNewRef(hist));
    if (hist == NULL)
        return 0;
    if (PyObject_GetBuffer(hist, &sc->view, PyBUF_WRITABLE) < 0) {
        Py_CLEAR(sc->hist);
        return -1;
    }
    if (sc->view.len != 8192) { /* (checked by the callers: a bytearray of 8192 bytes) */
        PyBuffer_Release(&sc->view);
        Py_CLEAR(sc->hist);
        PyErr_SetString(PyExc_SystemError, "an MS-SIPCOMP history is 8192 bytes");
        return -1;
    }
    sc->hbuf = sc->view.buf;
    return 0;
}

/*
 * One scope of sipcomp/budget.py's DecompressionBudget (a connection, or the capture all
 * connections draw from) mirrored here, so that the routine packet is charged without a
 * Python call. Its counters are read from the Python object when first charged and written
 * back by sipcomp_flush: at every hand-back, release and end of input, and whenever Python is
 * about to read or charge a budget (DecompressionBudget.sync, set on the capture's budget
 * while mirrors exist, calls FastPath.sipcomp_sync(budget), which writes the mirrors of that
 * budget and its parents and marks them unread: Python may then change their counters, so
 * they are read again before their next charge here; the other mirrors' counters and charges
 * stay as they are, right, so one sync costs the budget's chain, not the live directions).
 */
struct BudgetMirror;
/* The connections' mirrors by budget (FastPath.bmap): the budget Python is about to charge
   (sipcomp_sync's argument) and its parents are found here, so that only their mirrors are
   read again. Open addressing by the budget's address (`key`, never dereferenced), linear
   probing, deletion by backward shift; a table of raw pointers (no references). */
typedef struct BudgetMap {
    struct BudgetMirror **slot;
    size_t cap, used;
} BudgetMap;

typedef struct BudgetMirror {
    /* hot: what sipcomp_charge reads and writes, in the first 64 bytes (a connection's
       mirror is allocated on a 64-byte boundary: one line a charge) */
    long long wire, plain, allowance, ratio;
    unsigned long epoch; /* FastPath.bepoch when the counters were read */
    struct BudgetMirror *parent; /* the capture's mirror, or NULL */
    int loaded;          /* the counters were read at `epoch` */
    int usable;          /* they are plain ints in bounds: charges are decided here */
    int refused;         /* the budget refused a draw: closed */
    int dirty;           /* charged here since read: to be written back */
    /* cold */
    /* the budget: a strong reference for a connection's; borrowed for the capture's (each
       connection's budget holds its parent, and the capture's mirror lives only while a
       connection's mirror uses it) */
    PyObject *obj;
    /* FastPath.bwrite, the mirrors charged here since written (linked while `dirty`), and
       FastPath.bmap (a connection's mirror, NULL once out of it) */
    struct BudgetMirror *next_write, **prev_write;
    BudgetMap *map;
    const void *key;
    Py_ssize_t users;    /* flows (a connection's) or connection mirrors (the capture's) */
    int foreign;         /* its parent is not the capture budget mirrored here: never charge */
    void *raw;           /* a connection's: the allocation it lies in (sipcomp_attach) */
} BudgetMirror;

_Static_assert(offsetof(BudgetMirror, dirty) + sizeof(int) <= 64,
               "BudgetMirror's hot fields fit one cache line");

/* Take a mirror off FastPath.bwrite (its charges written or dropped). */
static void
budget_unlist(BudgetMirror *m)
{
    if (m->prev_write != NULL) {
        *m->prev_write = m->next_write;
        if (m->next_write != NULL)
            m->next_write->prev_write = m->prev_write;
    }
    m->next_write = NULL;
    m->prev_write = NULL;
    m->dirty = 0;
}

static size_t
bmap_home(const void *key, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & (cap - 1);
}

/* The mirror of budget `key` in the table, or NULL. */
static BudgetMirror *
bmap_find(const BudgetMap *map, const void *key)
{
    if (map->used == 0)
        return NULL;
    for (size_t i = bmap_home(key, map->cap);; i = (i + 1) & (map->cap - 1)) {
        BudgetMirror *m = map->slot[i];
        if (m == NULL || m->key == key)
            return m;
    }
}

/* Put m in the table under m->obj: 0, or -1 when memory ran out (no exception set). */
static int
bmap_add(BudgetMap *map, BudgetMirror *m)
{
    if ((map->used + 1) * 2 > map->cap) {
        size_t cap = map->cap ? map->cap * 2 : 64;
        BudgetMirror **slot = PyMem_Calloc(cap, sizeof(BudgetMirror *));
        if (slot == NULL)
            return -1;
        for (size_t k = 0; k < map->cap; k++) {
            BudgetMirror *o = map->slot[k];
            if (o == NULL)
                continue;
            size_t i = bmap_home(o->key, cap);
            while (slot[i] != NULL)
                i = (i + 1) & (cap - 1);
            slot[i] = o;
        }
        PyMem_Free(map->slot);
        map->slot = slot;
        map->cap = cap;
    }
    m->key = m->obj;
    size_t i = bmap_home(m->key, map->cap);
    while (map->slot[i] != NULL)
        i = (i + 1) & (map->cap - 1);
    map->slot[i] = m;
    map->used++;
    m->map = map;
    return 0;
}

/* Take m out of its table (backward shift: no tombstones). */
static void
bmap_remove(BudgetMirror *m)
{
    BudgetMap *map = m->map;
    m->map = NULL;
    if (map == NULL || map->used == 0)
        return;
    size_t mask = map->cap - 1, i = bmap_home(m->key, map->cap);
    while (map->slot[i] != m) {
        if (map->slot[i] == NULL)
            return; /* (not there) */
        i = (i + 1) & mask;
    }
    map->slot[i] = NULL;
    map->used--;
    for (size_t j = (i + 1) & mask; map->slot[j] != NULL; j = (j + 1) & mask) {
        size_t h = bmap_home(map->slot[j]->key, map->cap);
        /* slot j may move to the hole at i when its home is not within (i, j] */
        if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
            map->slot[i] = map->slot[j];
            map->slot[j] = NULL;
            i = j;
        }
    }
}

static void sipcomp_detach(SipcompState *sc);
struct FastPath;
static int sipcomp_flush(struct FastPath *fp);
static int sipcomp_flush_back(struct FastPath *fp, SipcompState *sc);
static int sipcomp_write_sums(SipcompState *sc);
static int sipcomp_release(SipcompState *sc);

static void
sipcomp_free(SipcompState *sc)
{
    if (sc != NULL) {
        sipcomp_detach(sc);
        sipcomp_unpin(sc);
        Py_XDECREF(sc->hist);
        PyMem_Free(sc->raw);
    }
}

/* What a READ_TLS direction adds while its records are routine (tls/decrypt.py
   TlsSession.routine_hand; allocated apart like SipcompState): a cache of one read state of
   the session, which stays the authority. The state, its AEAD's bound decrypt, the session's
   lists _read, _lost, _dead and plaintext and its _WAITING marker (strong references: the
   lists are looked at before each record, so that what Python changed is seen), the static
   IV (12 bytes) or salt (4), the flavour (TLS_13, TLS_XOR, TLS_EXPLICIT) and the next record
   sequence number; then what was opened here and not yet counted by the session (records,
   their bytes with headers, plaintext bytes, the frame of the last). While the decrypted
   side's framer of this direction is at rest (its _tls_plain says so by returning it, the
   inner pipe, kept in refs[TLS_INNER]; NULL otherwise), the plaintext's whole SIP messages
   are framed here and go to its _deliver; the bytes so framed and the frame of the last are
   counted for its framer (skip, skip_frame) until the next sync or _tls_plain. */
#define TLS_CACHE_REFS 8
typedef struct TlsCache {
    /* state, decrypt, read, lost, dead, plaintext, waiting, inner (or NULL) */
    PyObject *refs[TLS_CACHE_REFS];
    unsigned char iv[12];
    int flavour;
    uint64_t seq;
    long long records, bytes, plain, frame;
    long long skip, skip_frame;
    /* libcrypto's cipher context under the state's key (tls_evp_*), or NULL: decrypt; it
       lives in a capsule on the state (its _evp), of which the cache holds a reference */
    void *evp;
    PyObject *evp_capsule;
} TlsCache;

static void
tls_free(TlsCache *tc)
{
    if (tc != NULL) {
        for (int k = 0; k < TLS_CACHE_REFS; k++)
            Py_XDECREF(tc->refs[k]);
        Py_XDECREF(tc->evp_capsule);
        PyMem_Free(tc);
    }
}

typedef struct FastPath {
    PyObject_HEAD
    FlowEntry *flows;
    size_t flow_cap, flow_used;
    StreamEntry *streams;
    size_t stream_cap, stream_used;
    /* what the scans consumed, for the caller's totals */
    long long frames, bytes, udp, rtp_like, last_frame, pending_frames;
    double last_time;
    long long progress_every;
    /* sessions.advance runs in Python on frames that are multiples of this (0: never) */
    long long advance_every;
    /* SIP over TCP (see sip_tcp_segment): an open-addressing table of owned directions */
    SipFlow **sip;
    size_t sip_cap, sip_used;
    long long tcp, sip_messages, sip_held; /* TCP segments consumed; messages; bytes held */
    int sip_busy; /* inside a Python callback: the table must not change */
    /* Inside a READ_RAW direction's _raw_data call: its reverse, which sip_own may take then
       (a NEGOTIATE's answer read there switched both directions); room for it was made. */
    int raw_open;
    FlowKey raw_reverse;
    long long tls_cached; /* owned directions with a TlsCache (none: no reverse look-ups) */
    /* READ_SIPCOMP: the plain bytes of the packets decoded from one segment (a scratch reused
       from segment to segment; empty between them) */
    unsigned char *plain;
    Py_ssize_t plain_len, plain_cap;
    /* or, while the run is one packet, where its bytes lie (the history, the segment or the
       flow's held buffer; NULL otherwise): framed there, not copied (sipcomp_append,
       sipcomp_own) */
    const unsigned char *plain_ext;
    struct PlainPacket *packets;
    Py_ssize_t npackets, packets_cap;
    /* READ_SIPCOMP: the capture's decompression budget mirrored (BudgetMirror), the states
       whose counts are still to be written back, the mirrors whose charges are (bwrite), the
       connections' mirrors by budget (bmap), and the epoch of the mirrors' counters (moved
       on when every mirror must be read again: sipcomp_sync without an argument) */
    BudgetMirror broot;
    SipcompState *bdirty;
    BudgetMirror *bwrite;
    BudgetMap bmap;
    unsigned long bepoch;
} FastPath;

static FlowEntry *
flow_find(FastPath *fp, const FlowKey *k, uint64_t hash)
{
    size_t mask = fp->flow_cap - 1;
    size_t i = (size_t)hash & mask;
    for (;;) {
        FlowEntry *e = &fp->flows[i];
        if (e->epoch == 0)
            return NULL;
        if (key_equal(&e->key, k))
            return e;
        i = (i + 1) & mask;
    }
}

static StreamEntry *
stream_find(FastPath *fp, const FlowKey *k, uint64_t hash, uint32_t ssrc)
{
    size_t mask = fp->stream_cap - 1;
    size_t i = (size_t)(hash ^ mix(ssrc)) & mask;
    for (;;) {
        StreamEntry *e = &fp->streams[i];
        if (!e->used)
            return NULL;
        if (e->ssrc == ssrc && key_equal(&e->key, k))
            return e;
        i = (i + 1) & mask;
    }
}

static int
flows_grow(FastPath *fp)
{
    size_t cap = fp->flow_cap * 2;
    FlowEntry *fresh = PyMem_Calloc(cap, sizeof(FlowEntry));
    if (fresh == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t j = 0; j < fp->flow_cap; j++) {
        FlowEntry *e = &fp->flows[j];
        if (e->epoch == 0)
            continue;
        size_t i = (size_t)flow_hash(&e->key) & (cap - 1);
        while (fresh[i].epoch != 0)
            i = (i + 1) & (cap - 1);
        fresh[i] = *e;
    }
    PyMem_Free(fp->flows);
    fp->flows = fresh;
    fp->flow_cap = cap;
    return 0;
}

static int
streams_grow(FastPath *fp)
{
    size_t cap = fp->stream_cap * 2;
    StreamEntry *fresh = PyMem_Calloc(cap, sizeof(StreamEntry));
    if (fresh == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t j = 0; j < fp->stream_cap; j++) {
        StreamEntry *e = &fp->streams[j];
        if (!e->used)
            continue;
        size_t i = (size_t)(flow_hash(&e->key) ^ mix(e->ssrc)) & (cap - 1);
        while (fresh[i].used)
            i = (i + 1) & (cap - 1);
        fresh[i] = *e;
    }
    PyMem_Free(fp->streams);
    fp->streams = fresh;
    fp->stream_cap = cap;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* FastPath object                                                                              */

static PyObject *
FastPath_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"progress_every", "advance_every", NULL};
    long long every = 0, advance = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|LL:FastPath", kwlist, &every, &advance))
        return NULL;
    if (every < 0 || advance < 0) {
        PyErr_SetString(PyExc_ValueError, "progress_every and advance_every must be >= 0");
        return NULL;
    }
    FastPath *fp = (FastPath *)type->tp_alloc(type, 0);
    if (fp == NULL)
        return NULL;
    fp->progress_every = every;
    fp->advance_every = advance;
    fp->flow_cap = 64;
    fp->stream_cap = 64;
    fp->sip_cap = 64;
    fp->flows = PyMem_Calloc(fp->flow_cap, sizeof(FlowEntry));
    fp->streams = PyMem_Calloc(fp->stream_cap, sizeof(StreamEntry));
    fp->sip = PyMem_Calloc(fp->sip_cap, sizeof(SipFlow *));
    if (fp->flows == NULL || fp->streams == NULL || fp->sip == NULL) {
        Py_DECREF(fp);
        return PyErr_NoMemory();
    }
    return (PyObject *)fp;
}

static int
FastPath_traverse(FastPath *fp, visitproc visit, void *arg)
{
    if (fp->streams != NULL) {
        for (size_t i = 0; i < fp->stream_cap; i++) {
            Py_VISIT(fp->streams[i].stream);
            Py_VISIT(fp->streams[i].relay);
            Py_VISIT(fp->streams[i].srtp);
        }
    }
    if (fp->sip != NULL) {
        for (size_t i = 0; i < fp->sip_cap; i++) {
            if (fp->sip[i] != NULL) {
                const SipFlow *f = fp->sip[i];
                Py_VISIT(f->pipe);
                if (f->tc != NULL)
                    for (int k = 0; k < TLS_CACHE_REFS; k++)
                        Py_VISIT(f->tc->refs[k]);
                /* a connection's budget mirror, once (shared by its two directions) */
                if (f->sc != NULL && f->sc->conn != NULL &&
                    (f->sc->conn->users == 1 || f->direction == 0))
                    Py_VISIT(f->sc->conn->obj);
            }
        }
    }
    return 0;
}

static int
FastPath_clear_refs(FastPath *fp)
{
    if (fp->streams != NULL) {
        for (size_t i = 0; i < fp->stream_cap; i++) {
            Py_CLEAR(fp->streams[i].stream);
            Py_CLEAR(fp->streams[i].relay);
            Py_CLEAR(fp->streams[i].srtp);
            PyMem_Free(fp->streams[i].auth);
            fp->streams[i].auth = NULL;
        }
    }
    if (fp->sip != NULL) {
        for (size_t i = 0; i < fp->sip_cap; i++) {
            if (fp->sip[i] != NULL) {
                Py_CLEAR(fp->sip[i]->pipe);
                SipcompState *sc = fp->sip[i]->sc;
                if (sc != NULL) {
                    sipcomp_unpin(sc);
                    Py_CLEAR(sc->hist);
                    if (sc->conn != NULL)
                        Py_CLEAR(sc->conn->obj);
                    sc->pipe = NULL; /* (the counts not written back are lost) */
                    sc->listed = 0;
                    sc->next_dirty = NULL;
                    sc->prev_dirty = NULL;
                }
                if (fp->sip[i]->tc != NULL)
                    for (int k = 0; k < TLS_CACHE_REFS; k++)
                        Py_CLEAR(fp->sip[i]->tc->refs[k]);
            }
        }
    }
    fp->bdirty = NULL;
    while (fp->bwrite != NULL)
        budget_unlist(fp->bwrite); /* (the charges not written back are lost) */
    if (fp->bmap.slot != NULL) {
        for (size_t i = 0; i < fp->bmap.cap; i++)
            if (fp->bmap.slot[i] != NULL)
                fp->bmap.slot[i]->map = NULL;
        PyMem_Free(fp->bmap.slot);
        fp->bmap.slot = NULL;
        fp->bmap.cap = fp->bmap.used = 0;
    }
    fp->broot.obj = NULL;
    return 0;
}

static void
FastPath_dealloc(FastPath *fp)
{
    PyObject_GC_UnTrack(fp);
    FastPath_clear_refs(fp);
    fp->bdirty = NULL;
    fp->broot.obj = NULL;
    PyMem_Free(fp->flows);
    PyMem_Free(fp->streams);
    if (fp->sip != NULL) {
        for (size_t i = 0; i < fp->sip_cap; i++) {
            if (fp->sip[i] != NULL) {
                PyMem_Free(fp->sip[i]->buf);
                PyMem_Free(fp->sip[i]->chunks);
                sipcomp_free(fp->sip[i]->sc);
                tls_free(fp->sip[i]->tc);
                PyMem_Free(fp->sip[i]);
            }
        }
        PyMem_Free(fp->sip);
    }
    PyMem_Free(fp->plain);
    PyMem_Free(fp->packets);
    Py_TYPE(fp)->tp_free((PyObject *)fp);
}

/* A 4-tuple given as Python keys it; 0 when it cannot be a key (address sizes, ports). */
static int
key_from_args(FlowKey *k, Py_buffer *src, int sport, Py_buffer *dst, int dport)
{
    memset(k, 0, sizeof(FlowKey));
    if (src->len != dst->len || (src->len != 4 && src->len != 16) || sport < 0 ||
        sport > 65535 || dport < 0 || dport > 65535)
        return 0;
    memcpy(k->src, src->buf, (size_t)src->len);
    memcpy(k->dst, dst->buf, (size_t)dst->len);
    k->sport = (uint16_t)sport;
    k->dport = (uint16_t)dport;
    k->family = src->len == 4 ? 4 : 6;
    return 1;
}

static PyObject *
FastPath_register(FastPath *fp, PyObject *args)
{
    Py_buffer src, dst;
    int sport, dport, to_peer = 0;
    PyObject *stream, *relay = Py_None, *srtp = Py_None;
    if (!PyArg_ParseTuple(args, "y*iy*iO|OpO:register", &src, &sport, &dst, &dport, &stream,
                          &relay, &to_peer, &srtp))
        return NULL;
    FlowKey key;
    int ok = key_from_args(&key, &src, sport, &dst, dport);
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    if (!PyObject_TypeCheck(stream, &RtpCoreType)) {
        PyErr_SetString(PyExc_TypeError, "register() needs an RtpCore (StreamStats) object");
        return NULL;
    }
    if (relay != Py_None && !PyObject_TypeCheck(relay, &RelayCoreType)) {
        PyErr_SetString(PyExc_TypeError, "register() needs a RelayCore (PeerTraffic) or None");
        return NULL;
    }
    /* srtp: (SrtpCore state, authentication key, tag length, MKI length) or None */
    SrtpCore *srtp_state = NULL;
    HmacKey *auth = NULL;
    if (srtp != Py_None) {
        PyObject *state;
        Py_buffer auth_key;
        int tag_length, mki_length;
        if (!PyArg_ParseTuple(srtp, "Oy*ii:register srtp", &state, &auth_key, &tag_length,
                              &mki_length))
            return NULL;
        int valid = PyObject_TypeCheck(state, &SrtpCoreType) && tag_length >= 1 &&
                    tag_length <= 20 && mki_length >= 0 && mki_length <= 255;
        if (valid) {
            auth = PyMem_Malloc(sizeof(HmacKey));
            if (auth == NULL) {
                PyBuffer_Release(&auth_key);
                return PyErr_NoMemory();
            }
            hmac_key(auth, auth_key.buf, (size_t)auth_key.len);
            auth->tag_length = tag_length;
            auth->mki_length = mki_length;
        }
        PyBuffer_Release(&auth_key);
        if (!valid) {
            PyErr_SetString(PyExc_TypeError,
                            "register() srtp needs (SrtpCore, key, tag length 1-20, MKI length)");
            return NULL;
        }
        srtp_state = (SrtpCore *)state;
    }
    RtpCore *core = (RtpCore *)stream;
    if (!ok || core->ssrc < 0 || core->ssrc > 0xFFFFFFFFLL) {
        PyMem_Free(auth);
        Py_RETURN_FALSE; /* odd keys stay on the Python path */
    }
    uint32_t ssrc = (uint32_t)core->ssrc;
    uint64_t hash = flow_hash(&key);
    FlowEntry *flow = flow_find(fp, &key, hash);
    if (flow == NULL) {
        if (fp->flow_used >= MAX_ENTRIES) {
            PyMem_Free(auth);
            Py_RETURN_FALSE;
        }
        if ((fp->flow_used + 1) * 2 > fp->flow_cap && flows_grow(fp) < 0) {
            PyMem_Free(auth);
            return NULL;
        }
        size_t mask = fp->flow_cap - 1;
        size_t i = (size_t)hash & mask;
        while (fp->flows[i].epoch != 0)
            i = (i + 1) & mask;
        flow = &fp->flows[i];
        flow->key = key;
        flow->epoch = 1;
        fp->flow_used++;
    }
    uint32_t epoch = flow->epoch;
    StreamEntry *e = stream_find(fp, &key, hash, ssrc);
    if (e == NULL) {
        if (fp->stream_used >= MAX_ENTRIES) {
            PyMem_Free(auth);
            Py_RETURN_FALSE;
        }
        if ((fp->stream_used + 1) * 2 > fp->stream_cap && streams_grow(fp) < 0) {
            PyMem_Free(auth);
            return NULL;
        }
        size_t mask = fp->stream_cap - 1;
        size_t i = (size_t)(hash ^ mix(ssrc)) & mask;
        while (fp->streams[i].used)
            i = (i + 1) & mask;
        e = &fp->streams[i];
        e->key = key;
        e->ssrc = ssrc;
        e->used = 1;
        fp->stream_used++;
    }
    Py_INCREF(stream);
    Py_XSETREF(e->stream, core);
    if (relay == Py_None) {
        Py_CLEAR(e->relay);
    }
    else {
        Py_INCREF(relay);
        Py_XSETREF(e->relay, (RelayCore *)relay);
    }
    e->to_peer = to_peer;
    Py_XINCREF(srtp_state);
    Py_XSETREF(e->srtp, srtp_state);
    PyMem_Free(e->auth);
    e->auth = auth;
    e->epoch = epoch;
    Py_RETURN_TRUE;
}

static PyObject *
FastPath_forget(FastPath *fp, PyObject *args)
{
    Py_buffer src, dst;
    int sport, dport;
    if (!PyArg_ParseTuple(args, "y*iy*i:forget", &src, &sport, &dst, &dport))
        return NULL;
    FlowKey key;
    int ok = key_from_args(&key, &src, sport, &dst, dport);
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    if (ok) {
        FlowEntry *flow = flow_find(fp, &key, flow_hash(&key));
        if (flow != NULL) {
            flow->epoch++;
            if (flow->epoch == 0)
                flow->epoch = 1;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
FastPath_take_frames(FastPath *fp, PyObject *Py_UNUSED(ignored))
{
    long long n = fp->pending_frames;
    fp->pending_frames = 0;
    return PyLong_FromLongLong(n);
}

/*
 * num / den correctly rounded to the nearest double (ties to even), as Python's int / int
 * gives it, for den > 0; 0 when it cannot be done here (then Python integers do it). A double
 * division is exact enough when both fit in 53 bits; beyond that (nanosecond times) the
 * nearest of three neighbouring candidates is chosen by exact 128-bit integer arithmetic.
 */
static int
exact_ratio(int64_t num, int64_t den, double *out)
{
    if (den <= 0)
        return 0;
    if (num > -(1LL << 53) && num < (1LL << 53) && den < (1LL << 53)) {
        *out = (double)num / (double)den;
        return 1;
    }
#if defined(__SIZEOF_INT128__)
    if (num == INT64_MIN)
        return 0;
    uint64_t n = (uint64_t)(num < 0 ? -num : num);
    uint64_t d = (uint64_t)den;
    double q = (double)n / (double)d; /* within a unit in the last place of the answer */
    double cands[3] = {nextafter(q, 0.0), q, nextafter(q, INFINITY)};
    double best = 0.0;
    unsigned __int128 best_err = 0;
    int best_e = 0, have = 0;
    for (int i = 0; i < 3; i++) {
        double c = cands[i];
        if (!(c > 0.0) || isinf(c))
            continue;
        int exp2;
        double f = frexp(c, &exp2);                /* c = f * 2^exp2, 0.5 <= f < 1 */
        uint64_t m = (uint64_t)ldexp(f, 53);     /* c = m * 2^e exactly */
        int e = exp2 - 53;
        if (e > 0 || -e > 63)
            return 0;
        /* |n - c*d| * 2^-e = |n * 2^-e - m * d|: n < 2^64 and m * d < 2^117, so both fit */
        unsigned __int128 x = (unsigned __int128)n << (-e);
        unsigned __int128 y = (unsigned __int128)m * d;
        unsigned __int128 err = x > y ? x - y : y - x;
        if (have) {
            /* bring both errors to the finer scale (the smaller e) before comparing */
            unsigned __int128 a = err, b = best_err;
            if (e > best_e)
                a <<= (e - best_e);
            else if (best_e > e)
                b <<= (best_e - e);
            if (a > b || (a == b && (m & 1)))
                continue; /* farther, or as far and odd: a tie goes to the even one */
        }
        best = c;
        best_err = err;
        best_e = e;
        have = 1;
    }
    if (!have)
        return 0;
    *out = num < 0 ? -best : best;
    return 1;
#else
    return 0;
#endif
}

/* A frame the fast path consumed: counted here when a scan read it (given NULL); a reader
   that yields frames counts its own. */
static inline void
taken_frame(FastPath *fp, long long frame, Py_ssize_t n, double ts, const double *given)
{
    if (given == NULL) {
        fp->frames++;
        fp->pending_frames++;
        fp->bytes += n;
        fp->last_frame = frame;
        fp->last_time = ts;
    }
}

static int sip_tcp_segment(FastPath *fp, FlowKey *key, const unsigned char *seg,
                           Py_ssize_t seglen, long long frame, Py_ssize_t n, int64_t ts_num,
                           int64_t ts_den, const double *given);

/* The time of a frame: *given, or num / den as capture/pcap.py makes it. 0 on a Python error. */
static int
frame_time(int64_t ts_num, int64_t ts_den, const double *given, double *ts)
{
    if (given != NULL) {
        *ts = *given;
        return 1;
    }
    if (exact_ratio(ts_num, ts_den, ts))
        return 1;
    PyObject *num = PyLong_FromLongLong(ts_num);
    PyObject *den = num ? PyLong_FromLongLong(ts_den) : NULL;
    PyObject *q = den ? PyNumber_TrueDivide(num, den) : NULL;
    Py_XDECREF(num);
    Py_XDECREF(den);
    if (q == NULL)
        return 0;
    *ts = PyFloat_AsDouble(q);
    Py_DECREF(q);
    return !(*ts == -1.0 && PyErr_Occurred());
}

/*
 * One frame: decode it as Python would and, when it is routine RTP of a registered stream,
 * account it. Returns 1 when consumed, 0 when Python must take it, -1 on a Python error.
 * The time is num / den, or *given when the reader already made it (then the caller has
 * counted the frame and its bytes itself).
 */
static int
handle_frame(FastPath *fp, long long frame, long long linktype, const unsigned char *data,
             Py_ssize_t n, int64_t ts_num, int64_t ts_den, const double *given)
{
    Py_ssize_t off;
    unsigned version;
    /* net/decode.py PacketDecoder.decode, for the link types that lead straight to IP */
    if (linktype == 1 || linktype == 113 || linktype == 276) {
        unsigned etype;
        if (linktype == 1) {
            if (n < 14)
                return 0;
            etype = (unsigned)data[12] << 8 | data[13];
            off = 14;
        }
        else if (linktype == 113) {
            if (n < 16)
                return 0;
            etype = (unsigned)data[14] << 8 | data[15];
            off = 16;
        }
        else {
            if (n < 20)
                return 0;
            etype = (unsigned)data[0] << 8 | data[1];
            off = 20;
        }
        /* _ethertype: 802.1Q tags. Provider tags (802.1ad 0x88A8, QinQ 0x9100/0x9200) are
           wrappings Python names and counts (net/encap.py): those frames are Python's, as
           every tunnel is. */
        while (etype == 0x8100) {
            if (n - off < 4)
                return 0;
            etype = (unsigned)data[off + 2] << 8 | data[off + 3];
            off += 4;
        }
        if (etype == 0x88A8 || etype == 0x9100 || etype == 0x9200)
            return 0;
        if (etype == 0x0800)
            version = 4;
        else if (etype == 0x86DD)
            version = 6;
        else
            return 0;
    }
    else if (linktype == 101 || linktype == 12 || linktype == 14) {
        /* _raw_ip: the version nibble decides */
        if (n < 1)
            return 0;
        version = data[0] >> 4;
        if (version != 4 && version != 6)
            return 0;
        off = 0;
    }
    else if (linktype == 228 || linktype == 229) {
        version = linktype == 228 ? 4 : 6;
        off = 0;
    }
    else {
        return 0;
    }
    FlowKey key;
    memset(&key, 0, sizeof(FlowKey));
    const unsigned char *ip = data + off;
    int proto;
    Py_ssize_t start, end;
    if (version == 4) {
        /* _ipv4 */
        if (n - off < 20)
            return 0;
        unsigned ver_ihl = ip[0];
        Py_ssize_t ihl = (Py_ssize_t)(ver_ihl & 0x0F) << 2;
        if ((ver_ihl >> 4) != 4 || ihl < 20)
            return 0;
        Py_ssize_t total = (Py_ssize_t)ip[2] << 8 | ip[3];
        if (total == 0) {
            end = n;
        }
        else {
            end = off + total;
            if (total < ihl || end > n)
                return 0;
        }
        start = off + ihl;
        if (start > end)
            return 0;
        unsigned frag = (unsigned)ip[6] << 8 | ip[7];
        if (frag & 0x3FFF)
            return 0;
        proto = ip[9];
        if (proto != 17 && proto != 6)
            return 0;
        key.family = 4;
        memcpy(key.src, ip + 12, 4);
        memcpy(key.dst, ip + 16, 4);
    }
    else {
        /* _ipv6, with UDP straight after the fixed header (extension headers: Python's) */
        if (n - off < 40 || (ip[0] >> 4) != 6)
            return 0;
        Py_ssize_t plen6 = (Py_ssize_t)ip[4] << 8 | ip[5];
        if (plen6 == 0) {
            end = n;
        }
        else {
            end = off + 40 + plen6;
            if (end > n)
                return 0;
        }
        proto = ip[6];
        if (proto != 17 && proto != 6)
            return 0;
        start = off + 40;
        key.family = 6;
        memcpy(key.src, ip + 8, 16);
        memcpy(key.dst, ip + 24, 16);
    }
    if (proto == 6)
        return sip_tcp_segment(fp, &key, data + start, end - start, frame, n, ts_num, ts_den,
                               given);
    /* _l4, UDP */
    if (end - start < 8)
        return 0;
    const unsigned char *udp = data + start;
    key.sport = (uint16_t)((unsigned)udp[0] << 8 | udp[1]);
    key.dport = (uint16_t)((unsigned)udp[2] << 8 | udp[3]);
    Py_ssize_t length = (Py_ssize_t)udp[4] << 8 | udp[5];
    Py_ssize_t pend;
    if (length == 0) {
        pend = end;
    }
    else {
        if (length < 8 || length > end - start)
            return 0;
        pend = start + length;
    }
    const unsigned char *p = data + start + 8;
    Py_ssize_t plen = pend - (start + 8);
    /* api.py: empty datagrams and SIP go elsewhere; media/pipeline.py: RTP/RTCP by byte 0 */
    if (plen < 12 || p[0] < 128 || p[0] > 191 || (p[1] >= 192 && p[1] <= 223))
        return 0;
    uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
    uint64_t hash = flow_hash(&key);
    FlowEntry *flow = flow_find(fp, &key, hash);
    if (flow == NULL)
        return 0;
    StreamEntry *e = stream_find(fp, &key, hash, ssrc);
    if (e == NULL || e->stream == NULL || e->epoch != flow->epoch)
        return 0;
    RtpCore *s = e->stream;
    long long pt = p[1] & 0x7F;
    if (!core_routine(s, pt))
        return 0;
    /* capture/pcap.py: the float nearest to the exact time num / den */
    double ts;
    if (!frame_time(ts_num, ts_den, given, &ts))
        return -1;
    if (!(ts < s->series_end)) /* opens a time-series bucket: Python's (before SRTP state moves) */
        return 0;
    long long seq = (long long)p[2] << 8 | p[3];
    long long rts = (long long)p[4] << 24 | (long long)p[5] << 16 | (long long)p[6] << 8 | p[7];
    if (e->srtp != NULL) {
        /* media/stats.py RtpTracker._unprotect with the sender's chosen key: a packet that
           fails (short, bad tag) is Python's, which counts the failure */
        long long roc;
        if (e->auth == NULL || !srtp_authentic(e->auth, e->srtp, p, plen, seq, &roc))
            return 0;
        srtp_accept(e->srtp, seq, roc);
        s->srtp_decrypted++;
    }
    if (!core_packet(s, frame, ts, seq, rts, pt, p[1] & 0x80, (long long)plen))
        return 0;
    RelayCore *relay = e->relay;
    if (relay != NULL) { /* stun_pipeline.raw_media -> IceAnalyzer.relayed */
        if (e->to_peer) {
            relay->packets_to_peer++;
            relay->bytes_to_peer += plen;
        }
        else {
            relay->packets_from_peer++;
            relay->bytes_from_peer += plen;
        }
        relay->fast_rtp++;
    }
    fp->udp++;
    fp->rtp_like++;
    taken_frame(fp, frame, n, ts, given);
    return 1;
}

/* frame(number, ts, linktype, data) -> bool: one frame a reader yielded (NetMon, live). */
static PyObject *
FastPath_frame(FastPath *fp, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyLong_CheckExact(args[0]) || !PyFloat_CheckExact(args[1]) ||
        !PyLong_CheckExact(args[2]) || !PyBytes_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "frame() needs (int, float, int, bytes)");
        return NULL;
    }
    int o1, o2;
    long long frame = PyLong_AsLongLongAndOverflow(args[0], &o1);
    long long linktype = PyLong_AsLongLongAndOverflow(args[2], &o2);
    if (PyErr_Occurred())
        return NULL;
    if (o1 || o2)
        Py_RETURN_FALSE;
    double ts = PyFloat_AS_DOUBLE(args[1]);
    int r = handle_frame(fp, frame, linktype, (const unsigned char *)PyBytes_AS_STRING(args[3]),
                         PyBytes_GET_SIZE(args[3]), 0, 1, &ts);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}


static PyObject *
FastPath_scan_pcap(FastPath *fp, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t pos, end;
    long long count, linktype;
    int big, nano;
    if (!PyArg_ParseTuple(args, "ppLy*nnL:scan_pcap", &big, &nano, &linktype, &buf, &pos, &end,
                          &count))
        return NULL;
    if (pos < 0 || end > buf.len || pos > end) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "scan_pcap: pos/end outside the buffer");
        return NULL;
    }
    const unsigned char *b = buf.buf;
    int64_t scale = nano ? 1000000000LL : 1000000LL;
    long long every = fp->progress_every;
    int failed = 0;
    while (end - pos >= 16) {
        if (every && (count + 1) % every == 0)
            break; /* Python reports progress on this frame */
        if (fp->advance_every && (count + 1) % fp->advance_every == 0)
            break; /* Python moves the sessions' clock on this frame */
        const unsigned char *h = b + pos;
        uint32_t sec, frac, caplen;
        if (big) {
            sec = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
            frac = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
            caplen = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
        }
        else {
            sec = (uint32_t)h[3] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[1] << 8 | h[0];
            frac = (uint32_t)h[7] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[5] << 8 | h[4];
            caplen = (uint32_t)h[11] << 24 | (uint32_t)h[10] << 16 | (uint32_t)h[9] << 8 | h[8];
        }
        if (caplen > MAX_FRAME || (Py_ssize_t)caplen > end - pos - 16)
            break;
        int64_t num = (int64_t)sec * scale + frac;
        int r = handle_frame(fp, count + 1, linktype, h + 16, (Py_ssize_t)caplen, num, scale,
                             NULL);
        if (r < 0) {
            failed = 1;
            break;
        }
        if (r == 0)
            break;
        count++;
        pos += 16 + (Py_ssize_t)caplen;
    }
    PyBuffer_Release(&buf);
    if (failed)
        return NULL;
    return Py_BuildValue("nL", pos, count);
}

static PyObject *
FastPath_scan_pcapng(FastPath *fp, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t pos, end;
    long long count;
    int big;
    PyObject *ifaces;
    if (!PyArg_ParseTuple(args, "pO!y*nnL:scan_pcapng", &big, &PyList_Type, &ifaces, &buf,
                          &pos, &end, &count))
        return NULL;
    if (pos < 0 || end > buf.len || pos > end) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "scan_pcapng: pos/end outside the buffer");
        return NULL;
    }
    const unsigned char *b = buf.buf;
    long long every = fp->progress_every;
    int failed = 0;
#define U32(q)                                                                                 \
    (big ? ((uint32_t)(q)[0] << 24 | (uint32_t)(q)[1] << 16 | (uint32_t)(q)[2] << 8 | (q)[3])  \
         : ((uint32_t)(q)[3] << 24 | (uint32_t)(q)[2] << 16 | (uint32_t)(q)[1] << 8 | (q)[0]))
    while (end - pos >= 32) {
        if (every && (count + 1) % every == 0)
            break;
        if (fp->advance_every && (count + 1) % fp->advance_every == 0)
            break;
        const unsigned char *h = b + pos;
        uint32_t btype = U32(h), blen = U32(h + 4);
        /* capture/pcapng.py: an Enhanced Packet Block wholly in the buffer, all checks passed */
        if (btype != 6 || blen < 32 || (Py_ssize_t)blen > end - pos || (blen & 3))
            break;
        uint32_t iface = U32(h + 8), high = U32(h + 12), low = U32(h + 16);
        uint32_t caplen = U32(h + 20);
        if (caplen > blen - 32 || caplen > MAX_FRAME || U32(h + blen - 4) != blen)
            break;
        if ((Py_ssize_t)iface >= PyList_GET_SIZE(ifaces))
            break;
        /* (linktype, units per second, offset in units, snap length), made by pcapng.py */
        PyObject *desc = PyList_GET_ITEM(ifaces, iface);
        if (!PyTuple_Check(desc) || PyTuple_GET_SIZE(desc) < 3)
            break;
        long long linktype = PyLong_AsLongLong(PyTuple_GET_ITEM(desc, 0));
        long long units = PyLong_AsLongLong(PyTuple_GET_ITEM(desc, 1));
        long long offset = PyLong_AsLongLong(PyTuple_GET_ITEM(desc, 2));
        if (PyErr_Occurred()) {
            PyErr_Clear(); /* huge values: Python handles them */
            break;
        }
        uint64_t stamp = (uint64_t)high << 32 | low;
        if (units <= 0 || stamp > (uint64_t)INT64_MAX / 2 || offset > INT64_MAX / 4 ||
            offset < -(INT64_MAX / 4))
            break;
        int64_t num = (int64_t)stamp + offset;
        int r = handle_frame(fp, count + 1, linktype, h + 28, (Py_ssize_t)caplen, num, units,
                             NULL);
        if (r < 0) {
            failed = 1;
            break;
        }
        if (r == 0)
            break;
        count++;
        pos += blen;
    }
#undef U32
    PyBuffer_Release(&buf);
    if (failed)
        return NULL;
    return Py_BuildValue("nLd", pos, count, fp->last_time);
}

static PyObject *FastPath_sip_own(FastPath *fp, PyObject *const *args, Py_ssize_t nargs);
static PyObject *FastPath_sip_release(FastPath *fp, PyObject *const *args, Py_ssize_t nargs);
static PyObject *FastPath_sip_release_all(FastPath *fp, PyObject *Py_UNUSED(ignored));
static PyObject *FastPath_sipcomp_sync(FastPath *fp, PyObject *const *args, Py_ssize_t nargs);

static PyMethodDef FastPath_methods[] = {
    {"register", (PyCFunction)FastPath_register, METH_VARARGS,
     "register(src, sport, dst, dport, stream, relay=None, to_peer=False, srtp=None) -> bool\n\n"
     "Packets of this IPv4 flow (as on the wire) with the stream's SSRC may be accounted here\n"
     "from now on; relay is the PeerTraffic of MS-TURN relayed media on this 4-tuple; srtp is\n"
     "(rollover state, authentication key, tag length, MKI length) when packets are SRTP with\n"
     "a known key. False when the key cannot be (IPv6, a full table): Python keeps them."},
    {"forget", (PyCFunction)FastPath_forget, METH_VARARGS,
     "forget(src, sport, dst, dport)\n\nEvery stream of this flow goes back to Python."},
    {"frame", (PyCFunction)(void (*)(void))FastPath_frame, METH_FASTCALL,
     "frame(number, ts, linktype, data) -> bool\n\n"
     "One frame a reader yielded (for readers without a scan: NetMon, live): True when it was\n"
     "routine RTP and is accounted (UDP and RTP totals included), False when Python must\n"
     "decode it."},
    {"sip_own", (PyCFunction)(void (*)(void))FastPath_sip_own, METH_FASTCALL,
     "sip_own(src, sport, dst, dport, direction, nxt32, max_message, pipe, kind) -> bool\n\n"
     "Read this direction's routine segments here from now on (the 4-tuple as on the wire,\n"
     "the next sequence number). kind 0: its SIP is framed here and each message goes to\n"
     "pipe._deliver(direction, data, first_frame, frame, ts, header_end, content_length);\n"
     "kind 2: its TLS records are framed here and each goes to pipe._tls_record(direction,\n"
     "record, frame, ts), which returns True to go on; kind 1 (raw): each segment's bytes go\n"
     "to pipe._raw_data(direction, data, frame, ts), which returns the kind to read on with;\n"
     "kind 4: as 0 from the direction's first byte, a first segment without \"SIP/2.0\"\n"
     "handed back (Python sniffs it). Anything unusual hands the direction back to pipe.reclaim(direction, framed, taken,\n"
     "[(bytes, frame, ts)...], last_frame, last_ts) first. False when it cannot be taken (a\n"
     "full table, an odd key)."},
    {"sip_release", (PyCFunction)(void (*)(void))FastPath_sip_release, METH_FASTCALL,
     "sip_release(src, sport, dst, dport)\n\n"
     "Hand both directions of this connection back to Python (reclaim) if they are owned."},
    {"sip_release_all", (PyCFunction)FastPath_sip_release_all, METH_NOARGS,
     "sip_release_all()\n\nHand every owned direction back (the end of the input)."},
    {"sipcomp_sync", (PyCFunction)(void (*)(void))FastPath_sipcomp_sync, METH_FASTCALL,
     "sipcomp_sync(budget=None)\n\nWrite back the MS-SIPCOMP decompression budget charges made\n"
     "here, and read budget and its parents again before their next charge (every budget\n"
     "without an argument): DecompressionBudget.sync, before Python reads or charges budget."},
    {"take_frames", (PyCFunction)FastPath_take_frames, METH_NOARGS,
     "Frames consumed since the last call."},
    {"scan_pcap", (PyCFunction)FastPath_scan_pcap, METH_VARARGS,
     "scan_pcap(big_endian, nanosecond, linktype, buf, pos, end, count) -> (pos, count)\n\n"
     "Consume pcap records from buf[pos:end] while each is routine RTP of a registered\n"
     "stream; count is the number of the last frame read."},
    {"scan_pcapng", (PyCFunction)FastPath_scan_pcapng, METH_VARARGS,
     "scan_pcapng(big_endian, interfaces, buf, pos, end, count) -> (pos, count, last_time)\n\n"
     "The same for pcapng Enhanced Packet Blocks; interfaces as the pcapng reader keeps them;\n"
     "last_time is the time of the last frame consumed, by this or an earlier scan."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef FastPath_members[] = {
    {"frames", T_LONGLONG, offsetof(FastPath, frames), READONLY, "Frames consumed."},
    {"bytes", T_LONGLONG, offsetof(FastPath, bytes), READONLY, "Their captured bytes."},
    {"udp", T_LONGLONG, offsetof(FastPath, udp), READONLY, "UDP datagrams among them."},
    {"rtp_like", T_LONGLONG, offsetof(FastPath, rtp_like), READONLY, "RTP among them."},
    {"last_frame", T_LONGLONG, offsetof(FastPath, last_frame), READONLY,
     "Number of the last frame consumed (0: none)."},
    {"last_time", T_DOUBLE, offsetof(FastPath, last_time), READONLY, "Its time."},
    {"tcp", T_LONGLONG, offsetof(FastPath, tcp), READONLY, "TCP segments among them."},
    {"sip_messages", T_LONGLONG, offsetof(FastPath, sip_messages), READONLY,
     "SIP messages framed from owned directions."},
    {"sip_owned", T_PYSSIZET, offsetof(FastPath, sip_used), READONLY,
     "Directions owned now."},
    {"sip_held", T_LONGLONG, offsetof(FastPath, sip_held), READONLY,
     "Bytes held for messages in progress, over every owned direction."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FastPathType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lyncdump._fastpath.FastPath",
    .tp_basicsize = sizeof(FastPath),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Routine RTP of registered streams, consumed straight from capture buffers.",
    .tp_new = FastPath_new,
    .tp_dealloc = (destructor)FastPath_dealloc,
    .tp_traverse = (traverseproc)FastPath_traverse,
    .tp_clear = (inquiry)FastPath_clear_refs,
    .tp_methods = FastPath_methods,
    .tp_members = FastPath_members,
};

static PyObject *
fast_srtp_check(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *state;
    Py_buffer key, packet;
    int tag_length, mki_length;
    if (!PyArg_ParseTuple(args, "O!y*iiy*:srtp_check", &SrtpCoreType, &state, &key, &tag_length,
                          &mki_length, &packet))
        return NULL;
    int ok = 0;
    if (tag_length >= 1 && tag_length <= 20 && mki_length >= 0 && mki_length <= 255 &&
        packet.len >= 4) {
        HmacKey k;
        hmac_key(&k, key.buf, (size_t)key.len);
        k.tag_length = tag_length;
        k.mki_length = mki_length;
        const unsigned char *p = packet.buf;
        long long seq = (long long)p[2] << 8 | p[3], roc;
        ok = srtp_authentic(&k, (SrtpCore *)state, p, packet.len, seq, &roc);
        if (ok)
            srtp_accept((SrtpCore *)state, seq, roc);
    }
    PyBuffer_Release(&key);
    PyBuffer_Release(&packet);
    return PyBool_FromLong(ok);
}

static PyObject *
fast_ratio(PyObject *Py_UNUSED(module), PyObject *args)
{
    long long num, den;
    if (!PyArg_ParseTuple(args, "LL:ratio", &num, &den))
        return NULL;
    double q;
    if (!exact_ratio(num, den, &q))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(q);
}


/* -- MPPC (MS-SIPCOMP LZ77-8K) decoding: sipcomp/mppc.py's _inflate, token for token -------- */

/* 64 stream bits from bit offset `bit` (MSB first), zero past the end of the input. */
static inline uint64_t
mppc_window(const unsigned char *d, Py_ssize_t n, Py_ssize_t bit)
{
    Py_ssize_t i = bit >> 3;
    int s = (int)(bit & 7);
    uint64_t w = 0;
    if (i + 9 <= n) {
        memcpy(&w, d + i, 8);
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        w = __builtin_bswap64(w);
#elif !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
        w = 0;
        for (int k = 0; k < 8; k++)
            w = (w << 8) | d[i + k];
#endif
        if (s)
            w = (w << s) | (uint64_t)(d[i + 8] >> (8 - s));
        return w;
    }
    for (int k = 0; k < 8; k++)
        w = (w << 8) | (i + k < n ? d[i + k] : 0);
    if (s)
        w = (w << s) | (uint64_t)((i + 8 < n ? d[i + 8] : 0) >> (8 - s));
    return w;
}

/* Leading one bits of the `width` low bits of x. */
static inline int
mppc_leading_ones(uint64_t x, int width)
{
#if defined(__GNUC__)
    /* the width bits at the top, inverted: their leading ones are now leading zeros, and
       the zeros shifted in below them end the count at `width` */
    return __builtin_clzll(~(x << (64 - width)));
#else
    int k = 0;
    while (k < width && (x >> (width - 1 - k)) & 1)
        k++;
    return k;
#endif
}

/* Leading bytes of a window whose top bit is clear, from `high` (the window's top bits). */
static inline Py_ssize_t
mppc_low_run(uint64_t high)
{
#if defined(__GNUC__)
    return high ? __builtin_clzll(high) >> 3 : 8;
#else
    Py_ssize_t k = 0;
    while (k < 8 && !((high >> (63 - 8 * k)) & 1))
        k++;
    return k;
#endif
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MPPC_WORDS 1 /* whole 8-byte words written with the bytes past the end kept */

/* The bytes of a little-endian word that a write of m bytes (0..8) at its start keeps. */
static const uint64_t mppc_keep[9] = {
    ~(uint64_t)0,          ~(uint64_t)0 << 8,  ~(uint64_t)0 << 16, ~(uint64_t)0 << 24,
    ~(uint64_t)0 << 32,    ~(uint64_t)0 << 40, ~(uint64_t)0 << 48, ~(uint64_t)0 << 56, 0};

/* A word whose first m bytes (1..8) come from `fresh` and the others from `old`. */
static inline uint64_t
mppc_merge(uint64_t fresh, uint64_t old, Py_ssize_t m)
{
    uint64_t keep = mppc_keep[m];
    return (fresh & ~keep) | (old & keep);
}
#endif

/* The decode tables (static, 2,080 bytes; 2,152 with mppc_keep above: nothing built at run
 * time).
 *
 * A copy's offset code by the window's bits 61 and 60 (its first two bits are 11): 110 + 13
 * bits (+320) for 00 and 01, 1110 + 8 bits (+64), 1111 + 6 bits. The value is (top 16 bits >>
 * shift) & mask, plus base; `used` is the code's width. One lookup and no branch: which code
 * comes next is as good as random in a SIP stream (a test mispredicted a third of the time). */
typedef struct {
    unsigned short used, shift, mask, base; /* 8 bytes: the index scales by 8 */
} MppcOffsetCode;
static const MppcOffsetCode mppc_offsets[4] = {
    {16, 0, 0x1FFF, 320}, {16, 0, 0x1FFF, 320}, {12, 4, 0xFF, 64}, {10, 6, 0x3F, 0}};

/* A length code by its first 10 bits: (length << 4) | bits for the codes of 10 bits or fewer
   (0 + nothing: 3; k ones, a zero, k + 1 bits: 2^(k+1) + those bits, k <= 4: lengths 3..63,
   93 % of the copies of the 20k MS-SIPCOMP bench capture), 0 for a longer code, read bit by
   bit as before. 1024 entries of 2 bytes. (The first 8 bits, lengths up to 31, left 15 % of
   the copies to the longer read, a mispredicted branch each time.) */
#define MPPC_L(x)                                                                                 \
    ((x) < 0x200   ? (3 << 4 | 1)                                                                 \
     : (x) < 0x300 ? ((4 | (((x) >> 6) & 3)) << 4 | 4)                                           \
     : (x) < 0x380 ? ((8 | (((x) >> 4) & 7)) << 4 | 6)                                           \
     : (x) < 0x3C0 ? ((16 | (((x) >> 2) & 15)) << 4 | 8)                                         \
     : (x) < 0x3E0 ? ((32 | ((x) & 31)) << 4 | 10)                                               \
                   : 0)
#define MPPC_L4(x) MPPC_L(x), MPPC_L((x) + 1), MPPC_L((x) + 2), MPPC_L((x) + 3)
#define MPPC_L16(x) MPPC_L4(x), MPPC_L4((x) + 4), MPPC_L4((x) + 8), MPPC_L4((x) + 12)
#define MPPC_L64(x) MPPC_L16(x), MPPC_L16((x) + 16), MPPC_L16((x) + 32), MPPC_L16((x) + 48)
#define MPPC_L256(x) MPPC_L64(x), MPPC_L64((x) + 64), MPPC_L64((x) + 128), MPPC_L64((x) + 192)
static const unsigned short mppc_lengths[1024] = {MPPC_L256(0), MPPC_L256(256), MPPC_L256(512),
                                                  MPPC_L256(768)};
#undef MPPC_L256
#undef MPPC_L64
#undef MPPC_L16
#undef MPPC_L4
#undef MPPC_L

/* Why mppc_run stopped on a corrupt token (the message fast_mppc_inflate builds from it). */
typedef struct {
    int kind; /* 1: length code too long, 2: bad copy offset, 3: copy past the limit */
    Py_ssize_t value, length, pos;
    long long at;
} MppcFault;

#if defined(__GNUC__)
#define MPPC_INLINE static inline __attribute__((always_inline))
#define MPPC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define MPPC_INLINE static inline
#define MPPC_UNLIKELY(x) (x)
#endif

/* A copy token at the top of the window w (at least 40 real bits): its offset (out of
   1..8191 for a corrupt one, reported after the length code and the input's end), length and
   width in bits; 0, or -1 for a length code with more than 11 leading ones (*used: the
   offset code's width then). */
MPPC_INLINE int
mppc_copy_code(uint64_t w, Py_ssize_t *off_out, Py_ssize_t *length_out, int *used_out)
{
    unsigned int top = (unsigned int)(w >> 48);
    unsigned int c = (top >> 12) & 3;
    const MppcOffsetCode *oc = &mppc_offsets[c];
    *off_out = (Py_ssize_t)((top >> oc->shift) & oc->mask) + oc->base;
    /* the offset code's width (oc->used) from a constant in a register, not from the table:
       the next token's bit position waits on one table load (the length's), not two */
    int used = (int)((0x0A0C1010u >> (c << 3)) & 0xFF);
    unsigned int lt = mppc_lengths[(w << used) >> 54];
    if (lt) {
        *length_out = lt >> 4;
        *used_out = used + (int)(lt & 15);
        return 0;
    }
    uint64_t lc = (w >> (40 - used)) & 0xFFFFFF; /* the 24 bits after the offset */
    int k = mppc_leading_ones(lc, 24);
    if (k > 11) { /* the padding is zero, so these ones are really in the input */
        *used_out = used;
        return -1;
    }
    *length_out = ((Py_ssize_t)1 << (k + 1)) |
                  (Py_ssize_t)((lc >> (22 - 2 * k)) & (((uint64_t)1 << (k + 1)) - 1));
    *used_out = used + 2 * k + 2;
    return 0;
}

/* Copy `length` bytes from `off` back (1..8191, modulo 8192) to hist[pos], pos + length
   within the history; known likewise when not NULL. */
MPPC_INLINE void
mppc_copy(unsigned char *hist, unsigned char *known, Py_ssize_t pos, Py_ssize_t off,
          Py_ssize_t length)
{
    /* The history is read modulo 8192; reading forward byte by byte replicates a copy
       longer than its offset and, shorter, reads only bytes before `pos` (mod 8192),
       so it gives what _inflate's slices give. */
    Py_ssize_t src = (pos - off) & 0x1FFF;
    Py_ssize_t reach = (src > pos ? src : pos) + length + 16; /* past the pieces' last byte */
    Py_ssize_t span = length < 16 ? length : 16;                /* the offset they need */
    if ((off >= span) & (reach <= 8192)) {
        /* In 16-byte pieces, each read before it is written, the 16 bytes past the end kept
           aside and put back. A piece reads only bytes that are final or that the forward
           loop would read unwritten: behind, the offset is at least the piece's real length
           (16, or the whole copy); ahead (src > pos, the previous pass's tail), every read is
           ahead of every write but the last piece's, whose extra bytes are put back. The
           pieces end within the history (reach), so no read or write wraps. */
        unsigned char tail[16], piece[16];
        memcpy(tail, hist + pos + length, 16);
        Py_ssize_t j = 0;
        do {
            memcpy(piece, hist + src + j, 16);
            memcpy(hist + pos + j, piece, 16);
            j += 16;
        } while (j < length);
        memcpy(hist + pos + length, tail, 16);
    }
    else if (src < pos && off >= length) /* the usual copy: behind, not overlapping */
        memcpy(hist + pos, hist + src, (size_t)length);
    else if (src > pos && src + length <= 8192)
        /* the tail of the previous pass (after AT_FRONT), not wrapping: reading ahead
           of the writes, the forward loop reads only bytes it has not written yet */
        memmove(hist + pos, hist + src, (size_t)length);
    else
        for (Py_ssize_t j = 0; j < length; j++)
            hist[pos + j] = hist[(src + j) & 0x1FFF];
    if (known != NULL)
        for (Py_ssize_t j = 0; j < length; j++)
            known[pos + j] = known[(src + j) & 0x1FFF];
}

/* The k (1..8) low literals at the top of w, to hist[pos] (pos + k within the history). */
MPPC_INLINE void
mppc_low_literals(unsigned char *hist, unsigned char *known, Py_ssize_t pos, uint64_t w,
                  Py_ssize_t k)
{
#ifdef MPPC_WORDS
    if (pos + 8 <= 8192) {
        uint64_t old;
        memcpy(&old, hist + pos, 8);
        old = mppc_merge(__builtin_bswap64(w), old, k);
        memcpy(hist + pos, &old, 8);
    }
    else
#endif
        for (Py_ssize_t j = 0; j < k; j++)
            hist[pos + j] = (unsigned char)(w >> (56 - 8 * j));
    if (known != NULL)
        for (Py_ssize_t j = 0; j < k; j++)
            known[pos + j] = 1;
}

/* The exact read (no known-map) writes past its position: the history's bytes from `pos` up
   to 16 on (the zone: never further, and never past 8192) may hold anything until the call
   ends, when they are put back from `orig`, the caller's copy of the history from the call's
   first position on (to 16 bytes past its limit, or to 8192). Copies and literal runs then
   store whole 16- and 8-byte pieces with nothing to keep: no load of the bytes they overwrite
   and no tail kept aside (each such load waited on the store just before it). Bytes at `pos`
   and after were never written for real in the call, so `orig` holds their true value. */
MPPC_INLINE void
mppc_zone_back(unsigned char *hist, const unsigned char *orig, Py_ssize_t pos0, Py_ssize_t pos)
{
    Py_ssize_t z = 8192 - pos < 16 ? 8192 - pos : 16;
    memcpy(hist + pos, orig + (pos - pos0), (size_t)z);
}

/* mppc_copy for the exact read: the same bytes up to pos + length, anything in the zone. */
MPPC_INLINE void
mppc_copy_zone(unsigned char *hist, const unsigned char *orig, Py_ssize_t pos0, Py_ssize_t pos,
               Py_ssize_t off, Py_ssize_t length)
{
    Py_ssize_t src = (pos - off) & 0x1FFF;
    if ((size_t)(src - pos) < 16) /* reads the zone (the previous pass's tail, off > 8176) */
        mppc_zone_back(hist, orig, pos0, pos);
    Py_ssize_t reach = (src > pos ? src : pos) + length + 16;
    Py_ssize_t span = length < 16 ? length : 16;
    if ((off >= span) & (reach <= 8192)) {
        /* mppc_copy's pieces, each read before it is written; what a piece writes past
           pos + length (at most 15 bytes) lands in the zone, and what it reads there (only
           when off < 16, behind) lands there too */
        unsigned char piece[16];
        Py_ssize_t j = 0;
        do {
            memcpy(piece, hist + src + j, 16);
            memcpy(hist + pos + j, piece, 16);
            j += 16;
        } while (j < length);
    }
    else if (src < pos && off >= length)
        memcpy(hist + pos, hist + src, (size_t)length);
    else if (src > pos && src + length <= 8192)
        memmove(hist + pos, hist + src, (size_t)length);
    else
        for (Py_ssize_t j = 0; j < length; j++)
            hist[pos + j] = hist[(src + j) & 0x1FFF];
}

/* mppc_low_literals for the exact read: the whole word stored, its bytes past k in the zone. */
MPPC_INLINE void
mppc_low_literals_zone(unsigned char *hist, Py_ssize_t pos, uint64_t w, Py_ssize_t k)
{
#ifdef MPPC_WORDS
    if (pos + 8 <= 8192) {
        uint64_t v = __builtin_bswap64(w);
        memcpy(hist + pos, &v, 8);
    }
    else
#endif
        for (Py_ssize_t j = 0; j < k; j++)
            hist[pos + j] = (unsigned char)(w >> (56 - 8 * j));
}

/* _inflate over d[0:n] (nbits of it) from bit *bit, writing hist from *pos up to limit:
   the stop reason (0 _FULL, 1 _DRAINED, 2 _SHORT), or -1 with *fault filled for a corrupt
   token. *pos and *bit say where it stopped. bit_base only offsets the fault's bit. Written
   once, made twice (mppc_run, and mppc_run_exact without a known-map: the compiled
   MS-SIPCOMP read, whose history is always exact), so that the loop does not test `known`.
   `zone` (mppc_run_exact) writes past the position and puts the zone back from `orig` at the
   end (mppc_zone_back); either way the bytes from *pos on are as they were on return. */
MPPC_INLINE int
mppc_run_impl(unsigned char *hist, unsigned char *known, const unsigned char *orig, int zone,
              Py_ssize_t *pos_io, Py_ssize_t limit, const unsigned char *d, Py_ssize_t n,
              Py_ssize_t *bit_io, Py_ssize_t nbits, long long bit_base, MppcFault *fault)
{
    Py_ssize_t pos = *pos_io, bit = *bit_io, pos0 = pos;
    /* The MS-SIPCOMP scan meets a direction's history again after many other directions' (a
       Front End's thousands), and the copies' reads of it waited on L3 one by one. The 4 KiB
       behind the position are asked for at once, nearest first (64 % of the copies of the 5k
       bench capture read less than 1 KiB back, 92 % less than 4 KiB): 64 prefetches. The
       whole 8 KiB (128) did no better on the 50k capture, for twice the instructions. */
    if (zone)
        for (Py_ssize_t i = 64; i <= 4096; i += 64)
            __builtin_prefetch(hist + ((pos0 - i) & 0x1FC0));
    Py_ssize_t last = nbits - 8; /* a token needs at least 8 bits */
    int reason = 0;              /* _FULL */
    Py_ssize_t off, length;
    int used;
#ifdef MPPC_WORDS
    /* The body of the input: while the 17 bytes at the token's byte lie inside both the input
       and nbits, no token can reach the end: no test against it, no window to keep count of.
       The window w holds the 64 stream bits from `bit`, all real, and x the 64 after them
       (read for each token at an address known from the token's start; its last s bits, from
       the 17th byte, only for a literal run: a copy or a high literal takes 40 bits at most,
       and x's first 64 - s are from its own 8 bytes). The next window is
       (w << used) | (x >> (64 - used)): the next token's decode waits on this token's width
       and two shifts, not on a load at the new bit position (a load, a byte swap and a
       shift, about half of a token's chain). The last 17 bytes take the careful loop below. */
    Py_ssize_t whole = nbits >> 3 < n ? nbits >> 3 : n; /* bytes wholly inside nbits */
    Py_ssize_t body_last = 8 * whole - 129;              /* the last bit that has 17 bytes */
    if (pos < limit && bit <= body_last) {
        uint64_t w;
        memcpy(&w, d + (bit >> 3), 8);
        w = __builtin_bswap64(w) << (bit & 7);
        w |= (uint64_t)(d[(bit >> 3) + 8] >> (8 - (bit & 7))); /* (0 for bit & 7 == 0) */
        for (;;) {
            const unsigned char *q = d + (bit >> 3) + 8;
            int s = (int)(bit & 7);
            uint64_t x;
            memcpy(&x, q, 8);
            x = __builtin_bswap64(x) << s;
            if (w < 0x8000000000000000ULL) {
                /* low literals, each the byte itself: the run of them at the top of the
                   window, as far as the limit allows, taken at once */
                Py_ssize_t k = mppc_low_run(w & 0x8080808080808080ULL);
                /* (tested first for room for 8, nearly always there: the clamp's compare
                   and move then stay out of the way from this word to the next token) */
                if (MPPC_UNLIKELY(limit - pos < 8) && k > limit - pos)
                    k = limit - pos;
                if (zone)
                    mppc_low_literals_zone(hist, pos, w, k);
                else
                    mppc_low_literals(hist, known, pos, w, k);
                pos += k;
                bit += 8 * k;
                x |= (uint64_t)(q[8] >> (8 - s)); /* (0 for s 0) */
                w = ((w << (4 * k)) << (4 * k)) | (x >> (64 - 8 * k)); /* k is 1..8 */
            }
            else if (w < 0xC000000000000000ULL) { /* high literal: 10 + 7 bits */
                hist[pos] = (unsigned char)(0x80 | ((w >> 55) & 0x7F));
                if (known != NULL)
                    known[pos] = 1;
                pos++;
                bit += 9;
                w = (w << 9) | (x >> 55);
            }
            else { /* copy: offset code, then length code */
                if (mppc_copy_code(w, &off, &length, &used) < 0) {
                    fault->kind = 1;
                    fault->at = bit_base + bit + used;
                    reason = -1;
                    goto done;
                }
                if ((size_t)(off - 1) >= 8191)
                    goto bad_offset;
                if (pos + length > limit)
                    goto past_limit;
                if (zone)
                    mppc_copy_zone(hist, orig, pos0, pos, off, length);
                else
                    mppc_copy(hist, known, pos, off, length);
                pos += length;
                bit += used;
                w = (w << used) | (x >> (64 - used)); /* used is 11..40 */
            }
            if (pos >= limit || bit > body_last)
                break;
        }
    }
#endif
    /* The stream's bits from `bit` on are w's top `wbits` bits: a token reads at most 40 of
       them (a 16-bit offset code, then 24 bits for the length code), so the window is read
       again only when fewer are left, not for every token. Every one of the `wbits` bits is
       below nbits (the word read only from the first nbits / 8 bytes, else wbits bounded by
       what is left), so a run of low literals needs no test against the input's end. */
    uint64_t w = 0;
    int wbits = 0;
    while (pos < limit) {
        if (wbits < 40) {
            /* with 40 bits left in the window the input is not drained: test only here */
            if (bit > last) {
                reason = 1; /* _DRAINED */
                break;
            }
#ifdef MPPC_WORDS
            Py_ssize_t i = bit >> 3;
            if (i + 8 <= whole) {
                /* the 8 bytes at the token's byte, without the ninth: 57 or more stream
                   bits, enough for any token (the bits shifted in below them are never
                   read: wbits says how many are real) */
                memcpy(&w, d + i, 8);
                w = __builtin_bswap64(w) << (bit & 7);
                wbits = 64 - (int)(bit & 7);
            }
            else
#endif
            {
                w = mppc_window(d, n, bit);
                wbits = nbits - bit < 64 ? (int)(nbits - bit) : 64; /* 8 or more here */
            }
        }
        unsigned int b = (unsigned int)(w >> 56);
        if (b >= 0xC0) { /* copy: offset code, then length code */
            if (mppc_copy_code(w, &off, &length, &used) < 0) {
                fault->kind = 1;
                fault->at = bit_base + bit + used;
                reason = -1;
                break;
            }
            if (used > wbits) { /* past nbits: wbits is all that is left when under 40 */
                reason = 2; /* _SHORT */
                break;
            }
            if ((size_t)(off - 1) >= 8191)
                goto bad_offset;
            if (pos + length > limit)
                goto past_limit;
            if (zone)
                mppc_copy_zone(hist, orig, pos0, pos, off, length);
            else
                mppc_copy(hist, known, pos, off, length);
            pos += length;
            bit += used;
            w <<= used;
            wbits -= used;
        } else if (b < 0x80) {
            /* low literals, each the byte itself: the run of them at the top of the window
               (bytes whose top bit is clear), as far as the window, the limit and the last
               token position allow, taken at once */
            Py_ssize_t k = mppc_low_run(w & 0x8080808080808080ULL);
            if (k > wbits >> 3) /* also the tokens left before the input's end */
                k = wbits >> 3;
            if (k > limit - pos)
                k = limit - pos;
            if (zone)
                mppc_low_literals_zone(hist, pos, w, k);
            else
                mppc_low_literals(hist, known, pos, w, k);
            pos += k;
            bit += 8 * k;
            w = (w << (4 * k)) << (4 * k); /* k may be 8 */
            wbits -= (int)(8 * k);
        } else { /* high literal: 10 + 7 bits */
            if (bit == last) {
                reason = 2; /* _SHORT */
                break;
            }
            hist[pos] = (unsigned char)(0x80 | ((w >> 55) & 0x7F));
            if (known != NULL)
                known[pos] = 1;
            pos++;
            bit += 9;
            w <<= 9;
            wbits -= 9;
        }
    }
    goto done;
bad_offset:
    fault->kind = 2;
    fault->value = off;
    fault->at = bit_base + bit;
    reason = -1;
    goto done;
past_limit:
    fault->kind = 3;
    fault->length = length;
    fault->pos = pos;
    fault->value = limit;
    fault->at = bit_base + bit;
    reason = -1;
done:
    if (zone)
        mppc_zone_back(hist, orig, pos0, pos);
    *pos_io = pos;
    *bit_io = bit;
    return reason;
}

static int
mppc_run(unsigned char *hist, unsigned char *known, Py_ssize_t *pos_io, Py_ssize_t limit,
         const unsigned char *d, Py_ssize_t n, Py_ssize_t *bit_io, Py_ssize_t nbits,
         long long bit_base, MppcFault *fault)
{
    return mppc_run_impl(hist, known, NULL, 0, pos_io, limit, d, n, bit_io, nbits, bit_base,
                         fault);
}

/* The history before the first packet of a direction (sipcomp_first's `orig`). */
static const unsigned char mppc_zeros[8192];

static int
mppc_run_exact(unsigned char *hist, const unsigned char *orig, Py_ssize_t *pos_io,
               Py_ssize_t limit, const unsigned char *d, Py_ssize_t n, Py_ssize_t *bit_io,
               Py_ssize_t nbits, long long bit_base, MppcFault *fault)
{
    return mppc_run_impl(hist, NULL, orig, 1, pos_io, limit, d, n, bit_io, nbits, bit_base,
                         fault);
}

/* mppc_inflate's limit, from its position, up to which it takes the exact read. */
#define MPPC_ZONE_COPY 2048

/* mppc_inflate(hist, known, pos, limit, data, bit, nbits, bit_base)
 *   -> (pos, bit, reason) or (pos, bit, -1, bit offset, message) for a corrupt token.
 * The stop reasons and messages are _inflate's; `known` (or None) gets 1 for every byte
 * written from a literal and the source's value for copied bytes. */
static PyObject *
fast_mppc_inflate(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *hist_obj, *known_obj;
    Py_ssize_t pos, limit, bit, nbits;
    long long bit_base;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "O!Onny*nnL:mppc_inflate", &PyByteArray_Type, &hist_obj,
                          &known_obj, &pos, &limit, &data, &bit, &nbits, &bit_base))
        return NULL;
    unsigned char *known = NULL;
    Py_ssize_t hsize = PyByteArray_GET_SIZE(hist_obj);
    if (known_obj != Py_None) {
        if (!PyByteArray_Check(known_obj) || PyByteArray_GET_SIZE(known_obj) != hsize) {
            PyBuffer_Release(&data);
            PyErr_SetString(PyExc_TypeError, "known must be None or a bytearray like hist");
            return NULL;
        }
        known = (unsigned char *)PyByteArray_AS_STRING(known_obj);
    }
    if (hsize != 8192 || pos < 0 || limit > 8192 || bit < 0 || nbits < 0) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "history must be 8192 bytes, positions within it");
        return NULL;
    }
    unsigned char *hist = (unsigned char *)PyByteArray_AS_STRING(hist_obj);
    MppcFault fault = {0, 0, 0, 0, 0};
    int reason;
    if (known == NULL && pos <= limit && limit - pos <= MPPC_ZONE_COPY) {
        /* the exact read the MS-SIPCOMP scan makes, its `orig` copied here: when that copy is
           small (Python's stream framing gives a packet's size; decompress() gives the
           history's end, thousands of bytes to copy for a packet of one or two) */
        unsigned char orig[8192];
        memcpy(orig, hist + pos, (size_t)(8192 - limit < 16 ? 8192 - pos : limit - pos + 16));
        reason = mppc_run_exact(hist, orig, &pos, limit, data.buf, data.len, &bit, nbits,
                                bit_base, &fault);
    } else
        reason = mppc_run(hist, known, &pos, limit, data.buf, data.len, &bit, nbits, bit_base,
                          &fault);
    PyBuffer_Release(&data);
    if (reason >= 0)
        return Py_BuildValue("nni", pos, bit, reason);
    PyObject *message;
    if (fault.kind == 1)
        message = PyUnicode_FromFormat(
            "length code with more than 11 leading ones at bit offset %lld", fault.at);
    else if (fault.kind == 2)
        message = PyUnicode_FromFormat("copy offset %zd outside 1..8191 at bit offset %lld",
                                       fault.value, fault.at);
    else
        message = PyUnicode_FromFormat(
            "copy of %zd bytes at history position %zd runs past the end (%zd) at bit "
            "offset %lld", fault.length, fault.pos, fault.value, fault.at);
    if (message == NULL)
        return NULL;
    return Py_BuildValue("nniLN", pos, bit, -1, fault.at, message);
}

/* ---------------------------------------------------------------------------------------------
 * SIP heads (sip/message.py's lazy parse, sip/framing.py's end-of-headers search).
 *
 * Why: on SIP-heavy captures (a Front End's presence and IM traffic) reading each message's
 * start line and the eight headers every view needs was about a third of the Python time.
 * These two functions do exactly the common case, and answer None for anything else, which
 * the Python code then reads the way it always has (so defects and odd spellings stay there):
 *
 *   - sip_head(data, header_end): a message that starts with its start line, has a clean
 *     ASCII header block ending in CRLF CRLF (the _CLEAN_RE rule), at most MAX_HEADERS
 *     lines, and a start line in its strict form ("METHOD uri SIP/2.0" with single spaces,
 *     or "SIP/2.0 NNN reason" with 100 <= NNN <= 699).
 *   - sip_frame_head(buf, start, scan): the framer's search for the empty line, and the
 *     value of the only Content-Length header when it is plain digits (_only_content_length).
 * tests/sip/test_sip_fastpath.py checks both against the Python code on samples and on
 * hypothesis-made messages.
 * ------------------------------------------------------------------------------------------- */

#define SIP_MAX_MESSAGE (1 << 20)
#define SIP_MAX_HEADERS 1000

static PyObject *sip_keys[8]; /* canonical names, interned: see sip_core_key */
static const char *sip_methods[] = {
    "ACK", "BENOTIFY", "BYE", "CANCEL", "INFO", "INVITE", "MESSAGE", "NEGOTIATE", "NOTIFY",
    "OPTIONS", "PRACK", "PUBLISH", "REFER", "REGISTER", "SERVICE", "SUBSCRIBE", "UPDATE", NULL};
static PyObject *sip_method_objs[17];
static Py_ssize_t sip_method_lens[17]; /* strlen of each, set with sip_method_objs */

static const unsigned char sip_token[256] = {
    ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1, ['-'] = 1, ['.'] = 1, ['!'] = 1,
    ['%'] = 1, ['*'] = 1, ['_'] = 1, ['+'] = 1, ['`'] = 1, ['\''] = 1, ['~'] = 1};

static inline int
sip_ieq(const unsigned char *p, Py_ssize_t n, const char *word)
{
    Py_ssize_t i = 0;
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (word[i] == 0 || c != (unsigned char)word[i])
            return 0;
    }
    return word[i] == 0;
}

/* Index in sip_keys of a core header name (any case, compact forms too), or -1. */
static int
sip_core_key(const unsigned char *p, Py_ssize_t n)
{
    if (n == 1) {
        switch (p[0] | 0x20) {
        case 'i': return 0;
        case 'v': return 2;
        case 'f': return 3;
        case 't': return 4;
        case 'c': return 5;
        case 'l': return 6;
        }
        return -1;
    }
    switch (p[0] | 0x20) {
    case 'c':
        if (sip_ieq(p, n, "call-id")) return 0;
        if (sip_ieq(p, n, "cseq")) return 1;
        if (sip_ieq(p, n, "content-type")) return 5;
        if (sip_ieq(p, n, "content-length")) return 6;
        return -1;
    case 'v': return sip_ieq(p, n, "via") ? 2 : -1;
    case 'f': return sip_ieq(p, n, "from") ? 3 : -1;
    case 't': return sip_ieq(p, n, "to") ? 4 : -1;
    case 'm': return sip_ieq(p, n, "max-forwards") ? 7 : -1;
    }
    return -1;
}

static PyObject *
sip_method_str(const unsigned char *p, Py_ssize_t n)
{
    for (int i = 0; sip_methods[i] != NULL; i++) {
        if (sip_methods[i][0] == (char)p[0] && sip_method_lens[i] == n &&
            memcmp(p, sip_methods[i], n) == 0) {
            Py_INCREF(sip_method_objs[i]);
            return sip_method_objs[i];
        }
    }
    return PyUnicode_DecodeASCII((const char *)p, n, NULL);
}

/* The first empty line at or after from: the offset of the LF that ends the line before it
 * (so the empty line starts right after), with *bare set when it is a bare LF ("\n\n") and
 * cleared for CRLF ("\n\r\n"); -1 when there is none yet. */
static Py_ssize_t
sip_empty_line(const unsigned char *d, Py_ssize_t from, Py_ssize_t n, int *bare)
{
    const unsigned char *p = d + from, *end = d + n;
    while (p < end) {
        const unsigned char *lf = memchr(p, '\n', end - p);
        if (lf == NULL || lf + 1 >= end)
            return -1;
        *bare = lf[1] == '\n';
        if (*bare || (lf[1] == '\r' && lf + 2 < end && lf[2] == '\n'))
            return lf - d;
        p = lf + 1;
    }
    return -1;
}

/* Whether d[0:n] is ASCII (no byte with the high bit): 32 bytes a step with SSE2, else 8. */
static int
sip_ascii(const unsigned char *d, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    for (; i + 32 <= n; i += 32) {
        __m128i v = _mm_or_si128(_mm_loadu_si128((const __m128i *)(d + i)),
                                 _mm_loadu_si128((const __m128i *)(d + i + 16)));
        if (_mm_movemask_epi8(v))
            return 0;
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, d + i, 8);
        if (w & 0x8080808080808080ULL)
            return 0;
    }
    for (; i < n; i++)
        if (d[i] & 0x80)
            return 0;
    return 1;
}

/* What a Via text d[0:n] holds: VIA_UNUSUAL for a control character, DEL, a backslash or an
 * angle bracket (the compiled reading leaves such a text to Python), VIA_COMMA for a comma (it
 * may hold more than one entry), VIA_QUOTE for a double quote (separators inside a quoted
 * string do not count, so the entry is read byte by byte): with SSE2, sixteen bytes a step. */
#define VIA_UNUSUAL 1
#define VIA_COMMA 2
#define VIA_QUOTE 4
static int
sip_via_scan(const unsigned char *d, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    int commas = 0, quotes = 0;
#if defined(__SSE2__)
    const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f),
                  bs = _mm_set1_epi8('\\'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(d + i));
        __m128i bad = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v); /* v <= 0x1f */
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, del));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, bs));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, lt));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, gt));
        if (_mm_movemask_epi8(bad))
            return VIA_UNUSUAL;
        commas |= _mm_movemask_epi8(_mm_cmpeq_epi8(v, comma));
        quotes |= _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
        if (i + 16 < n && i + 32 > n)
            i = n - 32; /* the last sixteen bytes next, some of them seen twice */
    }
#endif
    for (; i < n; i++) {
        if (d[i] < 0x20 || d[i] == 0x7f || d[i] == '\\' || d[i] == '<' || d[i] == '>')
            return VIA_UNUSUAL;
        commas |= d[i] == ',';
        quotes |= d[i] == '"';
    }
    return (commas ? VIA_COMMA : 0) | (quotes ? VIA_QUOTE : 0);
}

/* A CSeq value in its plain form ("1 INVITE": up to 20 digits, at most 2**32-1, blanks, a
 * token) as (number, method); NULL without an exception for anything else (Python reads it). */
static PyObject *
sip_cseq(const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    unsigned long long number = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && i < 20) {
        number = number * 10 + (p[i++] - '0');
        if (number > 0xFFFFFFFFULL)
            return NULL; /* too large (and 20 digits would overflow): Python notes it */
    }
    if (i == 0 || i >= n || number > 0xFFFFFFFFULL || (p[i] != ' ' && p[i] != '\t'))
        return NULL;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    Py_ssize_t m = i;
    while (i < n && sip_token[p[i]])
        i++;
    if (i == m || i != n)
        return NULL;
    PyObject *out = PyTuple_New(2);
    if (out == NULL)
        return NULL;
    PyObject *num = PyLong_FromUnsignedLongLong(number), *method = sip_method_str(p + m, n - m);
    if (num == NULL || method == NULL) {
        Py_XDECREF(num);
        Py_XDECREF(method);
        Py_DECREF(out);
        return NULL;
    }
    PyTuple_SET_ITEM(out, 0, num);
    PyTuple_SET_ITEM(out, 1, method);
    return out;
}

/* sip_header_scan: the header names it looks for, lower-cased (a copy of the last names dict
 * it was given, rebuilt when another dict comes). */
#define SCAN_NAMES_MAX 64
#define SCAN_NAME_LEN 40
static struct {
    PyObject *source; /* the dict the table was built from (a strong reference) */
    int count;
    unsigned char first[256]; /* which first letters any name has */
    struct {
        unsigned char name[SCAN_NAME_LEN];
        Py_ssize_t len;
        PyObject *key; /* borrowed from source */
    } names[SCAN_NAMES_MAX];
} scan_names;

static int
scan_names_load(PyObject *names)
{
    if (scan_names.source == names)
        return 0;
    if (PyDict_GET_SIZE(names) > SCAN_NAMES_MAX) {
        PyErr_SetString(PyExc_ValueError, "sip_header_scan: too many names");
        return -1;
    }
    Py_CLEAR(scan_names.source);
    scan_names.count = 0;
    memset(scan_names.first, 0, sizeof scan_names.first);
    Py_ssize_t pos = 0;
    PyObject *name, *key;
    int count = 0;
    while (PyDict_Next(names, &pos, &name, &key)) {
        if (!PyBytes_Check(name) || !PyUnicode_Check(key) || PyBytes_GET_SIZE(name) == 0 ||
            PyBytes_GET_SIZE(name) > SCAN_NAME_LEN) {
            PyErr_SetString(PyExc_TypeError,
                            "sip_header_scan: names maps lower-case bytes (1 to 40) to str");
            return -1;
        }
        const unsigned char *n = (const unsigned char *)PyBytes_AS_STRING(name);
        Py_ssize_t len = PyBytes_GET_SIZE(name);
        for (Py_ssize_t k = 0; k < len; k++) {
            unsigned char c = n[k];
            scan_names.names[count].name[k] = c >= 'A' && c <= 'Z' ? c + 32 : c;
        }
        scan_names.names[count].len = len;
        scan_names.names[count].key = key;
        scan_names.first[scan_names.names[count].name[0]] = 1;
        count++;
    }
    scan_names.count = count;
    scan_names.source = Py_NewRef(names);
    return 0;
}

/* One header line of a scan (sip_header_scan, st_count_event_values), from a, the byte after
 * an LF: where its name ends (a blank, a ':', an LF or past SCAN_NAME_LEN). */
static inline Py_ssize_t
scan_name_end(const unsigned char *d, Py_ssize_t a, Py_ssize_t end)
{
    Py_ssize_t p = a;
    while (p < end && d[p] != ' ' && d[p] != '\t' && d[p] != ':' && d[p] != '\n' &&
           p - a <= SCAN_NAME_LEN)
        p++;
    return p;
}

/* Whether d[a:a+len] is name (lower case, len bytes) in any case. */
static inline int
scan_name_is(const unsigned char *d, Py_ssize_t a, Py_ssize_t len, const unsigned char *name)
{
    for (Py_ssize_t j = 0; j < len; j++) {
        unsigned char c = d[a + j];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != name[j])
            return 0;
    }
    return 1;
}

/* After a line's name (p): "[ \t]*:[ \t]*value" gives the value's span, value[:-1] (its CR)
 * with trailing blanks dropped, in *v_start and *v_end, and the line's LF or NULL in *lf;
 * 0 when no ':' follows the name. */
static inline int
scan_value(const unsigned char *d, Py_ssize_t p, Py_ssize_t end, Py_ssize_t *v_start,
           Py_ssize_t *v_end, const unsigned char **lf)
{
    while (p < end && (d[p] == ' ' || d[p] == '\t'))
        p++;
    if (p >= end || d[p] != ':')
        return 0;
    p++;
    while (p < end && (d[p] == ' ' || d[p] == '\t'))
        p++;
    const unsigned char *vl = memchr(d + p, '\n', (size_t)(end - p));
    Py_ssize_t ve = vl == NULL ? end : vl - d;
    if (ve > p)
        ve--; /* value[:-1] */
    while (ve > p && (d[ve - 1] == ' ' || d[ve - 1] == '\t'))
        ve--;
    *v_start = p;
    *v_end = ve;
    *lf = vl;
    return 1;
}

/* sip_header_scan(buf, start, end, names, index) -> None
 *
 * sip/message.py's scan of the header block buf[start:end] (start: the LF ending the start
 * line) for the headers named in names (lower-case bytes -> canonical name): every line
 * "name[ \t]*:[ \t]*value" whose name is one of them in any case, in order, adds
 * value[:-1].rstrip(" \t") (the line's CR dropped), decoded as UTF-8, to the tuple
 * index[canonical name]. What the regular expression of _view_values found, without it. */
static PyObject *
fast_sip_header_scan(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyBytes_Check(args[0]) || !PyDict_Check(args[3]) ||
        !PyDict_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "sip_header_scan(buf: bytes, start: int, end: int, "
                                         "names: dict, index: dict)");
        return NULL;
    }
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]);
    if ((start == -1 || end == -1) && PyErr_Occurred())
        return NULL;
    if (scan_names_load(args[3]) < 0)
        return NULL;
    PyObject *index = args[4];
    if (start < 0)
        start = 0;
    if (end > n)
        end = n;
    const unsigned char *cur = d + start, *e = d + end;
    while (cur < e) {
        const unsigned char *lf = memchr(cur, '\n', (size_t)(e - cur));
        if (lf == NULL)
            break;
        cur = lf + 1;
        Py_ssize_t a = cur - d;
        if (a >= end || !scan_names.first[d[a] >= 'A' && d[a] <= 'Z' ? d[a] + 32 : d[a]])
            continue;
        Py_ssize_t p = scan_name_end(d, a, end), len = p - a;
        PyObject *key = NULL;
        for (int k = 0; k < scan_names.count && key == NULL; k++)
            if (scan_names.names[k].len == len && scan_name_is(d, a, len, scan_names.names[k].name))
                key = scan_names.names[k].key;
        Py_ssize_t v, v_end;
        const unsigned char *vl;
        if (key == NULL || !scan_value(d, p, end, &v, &v_end, &vl))
            continue;
        PyObject *value = PyUnicode_DecodeUTF8((const char *)d + v, v_end - v, NULL);
        if (value == NULL)
            return NULL;
        Py_INCREF(key); /* the table's entry stays valid while the dict lives */
        PyObject *found = PyDict_GetItemWithError(index, key);
        PyObject *values = NULL;
        if (found == NULL && !PyErr_Occurred())
            values = PyTuple_Pack(1, value);
        else if (found != NULL && PyTuple_Check(found)) {
            Py_ssize_t k = PyTuple_GET_SIZE(found);
            values = PyTuple_New(k + 1);
            if (values != NULL) {
                for (Py_ssize_t j = 0; j < k; j++)
                    PyTuple_SET_ITEM(values, j, Py_NewRef(PyTuple_GET_ITEM(found, j)));
                PyTuple_SET_ITEM(values, k, Py_NewRef(value));
            }
        }
        else if (found != NULL)
            PyErr_SetString(PyExc_TypeError, "sip_header_scan: index values are tuples");
        Py_DECREF(value);
        int failed = values == NULL || PyDict_SetItem(index, key, values) < 0;
        Py_XDECREF(values);
        Py_DECREF(key);
        if (failed)
            return NULL;
        cur = d + (vl == NULL ? end : (vl - d));
    }
    Py_RETURN_NONE;
}

/* What sip_head reads of a message (sip_head_read): the start line, the offsets, the index of
 * core headers (canonical name -> tuple of values, in order of first appearance), whether a
 * core header came more than once, the first CSeq when plain (else None), and per core key
 * how many values it has and the first of them (borrowed from the index), so that sip_make
 * checks what it needs without looking in the dict. */
typedef struct {
    PyObject *method, *uri, *reason, *index, *cseq; /* owned; method, uri, reason may be NULL */
    int status; /* -1: a request */
    int repeated;
    Py_ssize_t sl_end, he, body_start;
    Py_ssize_t count[8];
    PyObject *first[8]; /* borrowed from index (NULL: count 0) */
    void *entry[8]; /* the value cache's entry of a one-value header, when it holds it */
} SipHead;

static void
sip_head_clear(SipHead *h)
{
    Py_CLEAR(h->method);
    Py_CLEAR(h->uri);
    Py_CLEAR(h->reason);
    Py_CLEAR(h->index);
    Py_CLEAR(h->cseq);
}

/* Where each core header value lies in the block: its key and bounds, kept until the whole
 * block is known to be one sip_head reads (nothing is decoded for a message Python reads). */
typedef struct {
    Py_ssize_t v, v_end;
    int key;
} SipCoreValue;

#define SIP_CORE_INLINE 32

/* Core header values seen lately, as the 1-tuple (value,) an index holds for a header given
 * once: a response repeats its request's From, To, Call-ID and CSeq byte for byte, and
 * Max-Forwards, Content-Length "0" and the like repeat on every message (not Via: a new
 * branch in each request, and its response adds received parameters; on the bulk captures
 * none of its values came again, so it is left out). A value found here
 * is not decoded again; a one-value header shares the tuple, any other its str (held messages
 * share them too: less memory). Direct-mapped by a hash of the header's key and bytes, an
 * entry taken only after its key, length and bytes compare equal; a new value replaces what
 * its entry held. Bounded: SIP_VCACHE_SIZE entries of values of at most SIP_VCACHE_TEXT_MAX
 * characters (about 400 KB at most; values are not kept longer than the next value hashed to
 * their entry). ``plain`` keeps sip_addr_plain's answer for a From/To text (-1: not asked);
 * ``cseq`` the (number, method) of a plain CSeq (None: not plain). */
#define SIP_VCACHE_SIZE 1024
#define SIP_VCACHE_TEXT_MAX 256
typedef struct {
    uint64_t hash;
    PyObject *one;  /* (value,), or NULL: empty */
    PyObject *cseq; /* key 1 only: what sip_cseq gave (a tuple or None), or NULL */
    int key;
    signed char plain;
} SipValueEntry;
static SipValueEntry sip_vcache[SIP_VCACHE_SIZE];
static unsigned long long sip_vcache_hits, sip_vcache_misses;

static inline uint64_t
sip_value_hash(const unsigned char *p, Py_ssize_t n, int key)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL * (uint64_t)(n + 1) + (uint64_t)key;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, p + i, (size_t)(n - i));
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    h ^= h >> 29;
    return h;
}

/* The entry for header key's value p[0:n] (n <= SIP_VCACHE_TEXT_MAX), its hash in *hash; its
 * tuple when it holds that very value, else NULL (the caller may fill the entry). */
static inline SipValueEntry *
sip_vcache_find(const unsigned char *p, Py_ssize_t n, int key, uint64_t *hash)
{
    uint64_t h = sip_value_hash(p, n, key);
    SipValueEntry *e = &sip_vcache[h & (SIP_VCACHE_SIZE - 1)];
    *hash = h;
    if (e->one != NULL && e->hash == h && e->key == key) {
        PyObject *value = PyTuple_GET_ITEM(e->one, 0);
        if (PyUnicode_GET_LENGTH(value) == n && memcmp(PyUnicode_1BYTE_DATA(value), p, n) == 0)
            return e;
    }
    return NULL;
}

/* Fill the entry for a value not found (one: its new 1-tuple; the entry takes a reference). */
static inline void
sip_vcache_put(uint64_t h, int key, PyObject *one)
{
    SipValueEntry *e = &sip_vcache[h & (SIP_VCACHE_SIZE - 1)];
    PyObject *old_one = e->one, *old_cseq = e->cseq;
    e->hash = h;
    e->key = key;
    e->plain = -1;
    e->one = Py_NewRef(one);
    e->cseq = NULL;
    Py_XDECREF(old_one); /* after the entry is whole again */
    Py_XDECREF(old_cseq);
}

/* sip_value_cache(clear=False) -> (entries, text_max, held, hits, misses): the cache's bounds,
 * how many entries hold a value, and the lookups that found one or not (for the tests);
 * clear empties it and its counts first. */
static PyObject *
fast_sip_value_cache(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "sip_value_cache(clear: bool = False)");
        return NULL;
    }
    int clear = nargs == 1 ? PyObject_IsTrue(args[0]) : 0;
    if (clear < 0)
        return NULL;
    Py_ssize_t held = 0;
    for (Py_ssize_t i = 0; i < SIP_VCACHE_SIZE; i++) {
        SipValueEntry *e = &sip_vcache[i];
        if (clear && e->one != NULL) {
            PyObject *one = e->one, *cseq = e->cseq;
            e->one = e->cseq = NULL;
            Py_DECREF(one);
            Py_XDECREF(cseq);
        }
        held += e->one != NULL;
    }
    if (clear)
        sip_vcache_hits = sip_vcache_misses = 0;
    return Py_BuildValue("(iinKK)", SIP_VCACHE_SIZE, SIP_VCACHE_TEXT_MAX, held, sip_vcache_hits,
                         sip_vcache_misses);
}

/* sip_head's reading of d[0:n] (he: the framer's header end, or not in range): 1 when it is
 * one it reads (h filled, its references the caller's), 0 when Python must read it, -1 on a
 * Python error (h left empty either way). */
static int
sip_head_read(const unsigned char *d, Py_ssize_t n, Py_ssize_t he, SipHead *h)
{
    memset(h, 0, sizeof *h);
    if (n == 0 || n > SIP_MAX_MESSAGE || d[0] == '\r' || d[0] == '\n')
        return 0;
    if (!(he > 0 && he < n)) {
        int bare;
        Py_ssize_t lf = sip_empty_line(d, 0, n, &bare);
        if (lf < 0 || bare) /* bare LFs: the Python code reads them */
            return 0;
        he = lf + 1;
    }
    else if (d[he] != '\r')
        return 0;
    Py_ssize_t body_start = he + 2;
    if (body_start > n || d[he + 1] != '\n')
        return 0;
    const unsigned char *lf = memchr(d, '\n', he);
    if (lf == NULL)
        return 0;
    Py_ssize_t sl_end = lf - d;
    if (sl_end < 1 || d[sl_end - 1] != '\r' || he < 2 || d[he - 2] != '\r')
        return 0;
    if (!sip_ascii(d, he))
        return 0;

    /* The start line, d[0:sl_end-1]: checked here, its strings made after the block. */
    Py_ssize_t line_end = sl_end - 1;
    int status = -1;
    Py_ssize_t m_end = 0, u_start = 0, u_end = 0, r_end = 0;
    if (line_end >= 12 && memcmp(d, "SIP/2.0 ", 8) == 0) {
        if (!(d[8] >= '0' && d[8] <= '9' && d[9] >= '0' && d[9] <= '9' && d[10] >= '0' &&
              d[10] <= '9' && (d[11] == ' ' || d[11] == '\t')))
            return 0;
        status = (d[8] - '0') * 100 + (d[9] - '0') * 10 + (d[10] - '0');
        if (status < 100 || status > 699)
            return 0;
        r_end = line_end;
        while (r_end > 12 && (d[r_end - 1] == ' ' || d[r_end - 1] == '\t'))
            r_end--;
        for (Py_ssize_t i = 12; i < r_end; i++)
            if (d[i] < 0x20 && d[i] != '\t')
                return 0; /* control characters: Python's rules (str.rstrip, regex) */
    }
    else {
        Py_ssize_t i = 0;
        while (i < line_end && sip_token[d[i]])
            i++;
        m_end = i;
        if (m_end == 0 || i >= line_end || d[i] != ' ')
            return 0;
        u_start = ++i;
        if (i >= line_end || !((d[i] | 0x20) >= 'a' && (d[i] | 0x20) <= 'z'))
            return 0;
        while (i < line_end && (((d[i] | 0x20) >= 'a' && (d[i] | 0x20) <= 'z') ||
                                (d[i] >= '0' && d[i] <= '9') || d[i] == '+' || d[i] == '.' ||
                                d[i] == '-'))
            i++;
        if (i >= line_end || d[i] != ':')
            return 0;
        while (i < line_end && d[i] > 0x20 && d[i] < 0x7f)
            i++;
        u_end = i;
        if (line_end - u_end != 8 || memcmp(d + u_end, " SIP/2.0", 8) != 0)
            return 0;
    }

    /* The header block d[sl_end+1:he]: every line "token[ \t]*:value\r\n". */
    SipCoreValue inline_values[SIP_CORE_INLINE], *values = inline_values;
    Py_ssize_t found = 0, cap = SIP_CORE_INLINE;
    int lines = 0, rc = 0;
    Py_ssize_t p = sl_end + 1;
    while (p < he) {
        if (++lines > SIP_MAX_HEADERS)
            goto out;
        Py_ssize_t name_start = p;
        while (p < he && sip_token[d[p]])
            p++;
        Py_ssize_t name_end = p;
        if (name_end == name_start)
            goto out;
        while (p < he && (d[p] == ' ' || d[p] == '\t'))
            p++;
        if (p >= he || d[p] != ':')
            goto out;
        p++;
        const unsigned char *eol = memchr(d + p, '\n', he - p);
        if (eol == NULL)
            goto out;
        Py_ssize_t e = eol - d;
        if (d[e - 1] != '\r' || e - 1 < p)
            goto out;
        int key = sip_core_key(d + name_start, name_end - name_start);
        if (key >= 0) {
            Py_ssize_t v = p, v_end = e - 1;
            while (v < v_end && (d[v] == ' ' || d[v] == '\t'))
                v++;
            while (v_end > v && (d[v_end - 1] == ' ' || d[v_end - 1] == '\t'))
                v_end--;
            if (found == cap) { /* at most SIP_MAX_HEADERS lines, so as many values */
                SipCoreValue *more = PyMem_Malloc(SIP_MAX_HEADERS * sizeof *more);
                if (more == NULL) {
                    PyErr_NoMemory();
                    rc = -1;
                    goto out;
                }
                memcpy(more, values, found * sizeof *more);
                values = more;
                cap = SIP_MAX_HEADERS;
            }
            values[found].v = v;
            values[found].v_end = v_end;
            values[found].key = key;
            h->count[key]++;
            found++;
        }
        p = e + 1;
    }

    /* A message sip_head reads: its strings and index. */
    rc = -1;
    if (status >= 0) {
        h->reason = PyUnicode_DecodeASCII((const char *)d + 12, r_end - 12, NULL);
        if (h->reason == NULL)
            goto out;
    }
    else {
        h->method = sip_method_str(d, m_end);
        if (h->method == NULL)
            goto out;
        h->uri = PyUnicode_DecodeASCII((const char *)d + u_start, u_end - u_start, NULL);
        if (h->uri == NULL)
            goto out;
    }
    int distinct = 0;
    for (int k = 0; k < 8; k++) {
        distinct += h->count[k] > 0;
        h->repeated |= h->count[k] > 1;
    }
    h->index = _PyDict_NewPresized(distinct);
    if (h->index == NULL)
        goto out;
    PyObject *tuples[8] = {NULL};
    Py_ssize_t filled[8] = {0};
    for (Py_ssize_t i = 0; i < found; i++) {
        int key = values[i].key;
        Py_ssize_t v = values[i].v, len = values[i].v_end - values[i].v;
        PyObject *one = NULL, *value;
        SipValueEntry *e = NULL;
        uint64_t hash = 0;
        int cached = len <= SIP_VCACHE_TEXT_MAX && key != 2;
        if (cached) {
            e = sip_vcache_find(d + v, len, key, &hash);
            if (e != NULL) {
                sip_vcache_hits++;
                one = Py_NewRef(e->one);
            }
            else
                sip_vcache_misses++;
        }
        if (one == NULL) {
            value = PyUnicode_DecodeASCII((const char *)d + v, len, NULL);
            if (value == NULL)
                goto out_tuples;
            if (cached || h->count[key] == 1) {
                one = PyTuple_Pack(1, value);
                if (one == NULL) {
                    Py_DECREF(value);
                    goto out_tuples;
                }
                if (cached) {
                    sip_vcache_put(hash, key, one);
                    e = &sip_vcache[hash & (SIP_VCACHE_SIZE - 1)];
                }
            }
        }
        else
            value = Py_NewRef(PyTuple_GET_ITEM(one, 0));
        if (key == 1 && h->cseq == NULL) { /* the first CSeq */
            if (e != NULL && e->cseq != NULL)
                h->cseq = Py_NewRef(e->cseq);
            else {
                h->cseq = sip_cseq(d + v, len);
                if (h->cseq == NULL && PyErr_Occurred()) {
                    Py_DECREF(value);
                    Py_XDECREF(one);
                    goto out_tuples;
                }
                if (h->cseq == NULL)
                    h->cseq = Py_NewRef(Py_None);
                /* (still this value's entry: a collection while sip_cseq allocated may have
                 * run code that read another message into it) */
                if (e != NULL && e->one == one && e->cseq == NULL)
                    e->cseq = Py_NewRef(h->cseq);
            }
        }
        if (h->count[key] == 1) { /* the shared 1-tuple is this header's values */
            Py_DECREF(value);
            int bad = PyDict_SetItem(h->index, sip_keys[key], one);
            h->first[key] = PyTuple_GET_ITEM(one, 0);
            h->entry[key] = e;
            Py_DECREF(one); /* the index (and maybe the cache) holds it */
            if (bad < 0)
                goto out_tuples;
            continue;
        }
        Py_XDECREF(one);
        if (tuples[key] == NULL) { /* first value of this key: its tuple, in the index now */
            tuples[key] = PyTuple_New(h->count[key]);
            if (tuples[key] == NULL) {
                Py_DECREF(value);
                goto out_tuples;
            }
            /* The slots still empty are filled below, before anyone else sees the tuple. */
            int bad = PyDict_SetItem(h->index, sip_keys[key], tuples[key]);
            if (bad < 0) { /* not in the index: freed here, its slots all NULL */
                Py_CLEAR(tuples[key]);
                Py_DECREF(value);
                goto out_tuples;
            }
            Py_DECREF(tuples[key]); /* the index holds it */
        }
        PyTuple_SET_ITEM(tuples[key], filled[key]++, value);
        if (filled[key] == 1)
            h->first[key] = value;
    }
    h->status = status;
    h->sl_end = sl_end;
    h->he = he;
    h->body_start = body_start;
    rc = 1;
    goto out;
out_tuples:
    /* A tuple not filled holds NULL slots: fill them so that it can be freed. */
    for (int k = 0; k < 8; k++)
        if (tuples[k] != NULL)
            for (Py_ssize_t j = filled[k]; j < h->count[k]; j++)
                PyTuple_SET_ITEM(tuples[k], j, Py_NewRef(Py_None));
out:
    if (values != inline_values)
        PyMem_Free(values);
    if (rc != 1)
        sip_head_clear(h);
    return rc;
}

/* sip_head(data, header_end) -> (method, uri, status, reason, sl_end, header_end, body_start,
 *                                 index, repeated, cseq) | None */
static PyObject *
fast_sip_head(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "sip_head(data: bytes, header_end: int)");
        return NULL;
    }
    Py_ssize_t he = PyLong_AsSsize_t(args[1]);
    if (he == -1 && PyErr_Occurred())
        return NULL;
    SipHead h;
    int rc = sip_head_read((const unsigned char *)PyBytes_AS_STRING(args[0]),
                           PyBytes_GET_SIZE(args[0]), he, &h);
    if (rc <= 0) {
        if (rc < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *out = Py_BuildValue(
        "(NNNNnnnNON)", h.method ? h.method : Py_NewRef(Py_None),
        h.uri ? h.uri : Py_NewRef(Py_None),
        h.status >= 0 ? PyLong_FromLong(h.status) : Py_NewRef(Py_None),
        h.reason ? h.reason : Py_NewRef(Py_None), h.sl_end, h.he, h.body_start, h.index,
        h.repeated ? Py_True : Py_False, h.cseq ? h.cseq : Py_NewRef(Py_None));
    return out;
}

/* _only_content_length on d[start:end] (see sip/framing.py): the value, or -1. The header
 * block is walked line by line with memchr (most of a message's bytes are never looked at one
 * by one: this ran for every byte of every header block before). */
static long long
sip_only_content_length(const unsigned char *d, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t at = -1;
    const unsigned char *cur = d + start, *e = d + end;
    while (cur < e) {
        const unsigned char *lf = memchr(cur, '\n', (size_t)(e - cur));
        if (lf == NULL)
            break;
        Py_ssize_t i = lf - d;
        cur = lf + 1;
        if (i + 1 >= end)
            break;
        unsigned char c = d[i + 1] | 0x20;
        if (c == 'l')
            return -1; /* a line starting with l: maybe the compact form */
        if (c == 'c' && end - i >= 15 && sip_ieq(d + i + 1, 14, "content-length")) {
            if (at >= 0)
                return -1;
            at = i;
        }
    }
    if (at < 0)
        return -1;
    const unsigned char *lf = memchr(d + at + 15, '\n', end - (at + 15));
    if (lf == NULL)
        return -1;
    Py_ssize_t eol = lf - d;
    if (eol + 1 < end && (d[eol + 1] == ' ' || d[eol + 1] == '\t'))
        return -1;
    Py_ssize_t p = at + 15;
    while (p < eol && (d[p] == ' ' || d[p] == '\t'))
        p++;
    if (p >= eol || d[p] != ':')
        return -1;
    p++;
    Py_ssize_t q = eol;
    while (p < q && (d[p] == ' ' || d[p] == '\t' || d[p] == '\r'))
        p++;
    while (q > p && (d[q - 1] == ' ' || d[q - 1] == '\t' || d[q - 1] == '\r'))
        q--;
    if (q == p || q - p > 15)
        return -1;
    long long value = 0;
    for (Py_ssize_t i = p; i < q; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -1;
        value = value * 10 + (d[i] - '0');
    }
    return value;
}

/* sip_frame_head(buf, start, scan) -> (header_end, body_start, content_length | -1) | None */
static PyObject *
fast_sip_frame_head(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyByteArray_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "sip_frame_head(buf: bytearray, start: int, scan: int)");
        return NULL;
    }
    const unsigned char *d = (const unsigned char *)PyByteArray_AS_STRING(args[0]);
    Py_ssize_t n = PyByteArray_GET_SIZE(args[0]);
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    Py_ssize_t scan = PyLong_AsSsize_t(args[2]);
    if ((start == -1 || scan == -1) && PyErr_Occurred())
        return NULL;
    if (start < 0 || scan < 0 || start > n || scan > n)
        Py_RETURN_NONE;
    int bare;
    Py_ssize_t lf = sip_empty_line(d, scan, n, &bare);
    if (lf < 0)
        Py_RETURN_NONE;
    Py_ssize_t header_end = lf + 1, body_start = header_end + (bare ? 1 : 2);
    long long length = header_end > start ? sip_only_content_length(d, start, header_end) : -1;
    return Py_BuildValue("nnL", header_end, body_start, length);
}


/* The first c in d[p:e], or e: memchr's position as an index. */
static inline Py_ssize_t
via_find(const unsigned char *d, Py_ssize_t p, Py_ssize_t e, unsigned char c)
{
    const unsigned char *f = p < e ? memchr(d + p, c, (size_t)(e - p)) : NULL;
    return f ? f - d : e;
}

/* The first c in d[p:e] outside a quoted string, or e; -1 for a quote left open. Without
 * quotes in the text (quotes 0): a single memchr. */
static inline Py_ssize_t
via_find_outside(const unsigned char *d, Py_ssize_t p, Py_ssize_t e, unsigned char c, int quotes)
{
    for (;;) {
        Py_ssize_t at = via_find(d, p, e, c);
        if (!quotes)
            return at;
        Py_ssize_t q = via_find(d, p, at, '"');
        if (q == at)
            return at;
        const unsigned char *close = memchr(d + q + 1, '"', e - q - 1);
        if (close == NULL)
            return -1;
        p = close - d + 1;
    }
}

/* One Via entry d[a:b] (no backslash, angle brackets or control characters, stripped; quoted
 * strings only in parameter values, balanced): 1 when
 * headers.py's parse_via takes it without a problem (its fast head path), 0 otherwise. The
 * branch parameter (the last one, as a dict keeps it) goes to *br / *br_end (-1: none,
 * -2: a branch without a value). quotes: 0 when the text holds no double quote, so the
 * separators are found with memchr rather than byte by byte (the routine Via). */
static int
sip_via_entry(const unsigned char *d, Py_ssize_t a, Py_ssize_t b, Py_ssize_t *br,
              Py_ssize_t *br_end, int quotes)
{
    Py_ssize_t semi = via_find(d, a, b, ';');
    if (quotes && via_find(d, a, semi, '"') < semi)
        return 0;
    /* head d[a:semi]: "X/Y/Z sent-by", one space, two slashes with something around them */
    Py_ssize_t space = via_find(d, a, semi, ' ');
    if (space == semi || via_find(d, space + 1, semi, ' ') < semi)
        return 0;
    Py_ssize_t slashes = 0, last = a - 1;
    for (Py_ssize_t i = a; i < space; i++) {
        if (d[i] == '/') {
            if (i == last + 1)
                return 0;
            slashes++;
            last = i;
        }
    }
    if (slashes != 2 || last + 1 == space || space + 1 >= semi)
        return 0;
    Py_ssize_t host = space + 1, host_end = via_find(d, host, semi, ':');
    if (d[host] == '[' || via_find(d, host, host_end, '@') < host_end)
        return 0;
    if (host_end < semi) {
        Py_ssize_t digits = semi - host_end - 1;
        if (digits < 1 || digits > 10)
            return 0;
        long long port = 0;
        for (Py_ssize_t j = host_end + 1; j < semi; j++) {
            if (d[j] < '0' || d[j] > '9')
                return 0;
            port = port * 10 + (d[j] - '0');
        }
        if (port > 65535)
            return 0;
    }
    if (host_end == host)
        return 0;
    *br = -1;
    Py_ssize_t p = semi;
    while (p < b) {
        Py_ssize_t item = p + 1, end = via_find_outside(d, item, b, ';', quotes);
        if (end < 0)
            return 0;
        Py_ssize_t eq = via_find(d, item, end, '=');
        if (quotes && via_find(d, item, eq, '"') < eq)
            return 0;
        Py_ssize_t n0 = item, n1 = eq;
        while (n0 < n1 && d[n0] == ' ')
            n0++;
        while (n1 > n0 && d[n1 - 1] == ' ')
            n1--;
        if (n0 == n1)
            return 0; /* an empty parameter: parse_via notes it */
        if (n1 - n0 == 6 && sip_ieq(d + n0, 6, "branch")) {
            if (eq == end)
                *br = -2;
            else {
                Py_ssize_t v0 = eq + 1, v1 = end;
                while (v0 < v1 && d[v0] == ' ')
                    v0++;
                while (v1 > v0 && d[v1 - 1] == ' ')
                    v1--;
                if (v0 < v1 && d[v0] == '"')
                    return 0; /* a quoted branch: Python unquotes it */
                *br = v0;
                *br_end = v1;
            }
        }
        p = end;
    }
    return 1;
}

/* sip_top_branch on a sequence of Via texts: what fast_sip_top_branch answers. */
static PyObject *
sip_top_branch_read(PyObject *values)
{
    PyObject *seq = PySequence_Fast(values, "sip_top_branch(values: a sequence of str)");
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject *top = NULL;
    int found = 0;
    Py_ssize_t br = -1, br_end = -1;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *value = PySequence_Fast_GET_ITEM(seq, k);
        if (!PyUnicode_Check(value) || !PyUnicode_IS_ASCII(value))
            goto fallback;
        const unsigned char *d = PyUnicode_1BYTE_DATA(value);
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        int scan = sip_via_scan(d, n);
        if (scan & VIA_UNUSUAL)
            goto fallback;
        Py_ssize_t a = 0;
        while (a <= n) {
            Py_ssize_t b = n; /* without a comma: one entry, the whole text */
            if (scan & VIA_COMMA) {
                b = via_find_outside(d, a, n, ',', scan & VIA_QUOTE);
                if (b < 0)
                    goto fallback;
            }
            Py_ssize_t s0 = a, s1 = b;
            while (s0 < s1 && d[s0] == ' ')
                s0++;
            while (s1 > s0 && d[s1 - 1] == ' ')
                s1--;
            if (s1 > s0) {
                Py_ssize_t eb = -1, ee = -1;
                if (!sip_via_entry(d, s0, s1, &eb, &ee, scan & VIA_QUOTE))
                    goto fallback;
                if (!found) {
                    found = 1;
                    top = value;
                    br = eb;
                    br_end = ee;
                }
            }
            a = b + 1;
        }
    }
    PyObject *out;
    if (!found || br < 0)
        out = Py_NewRef(Py_None);
    else
        out = PyUnicode_Substring(top, br, br_end);
    Py_DECREF(seq);
    return out;
fallback:
    Py_DECREF(seq);
    Py_RETURN_FALSE;
}

/* sip_top_branch(values) -> str | None | False */
static PyObject *
fast_sip_top_branch(PyObject *Py_UNUSED(module), PyObject *values)
{
    return sip_top_branch_read(values);
}


/* sip/message.py's _split_addr on an ASCII From/To text d[0:n]: the text "display <uri>;p=v;..."
 * with each token value after the '>' replaced by "\x01<item index>", written to *out (a
 * PyMem buffer the caller frees) with its length in *out_len; when real is not NULL, each
 * replaced value is put in it by placeholder. Returns the number of values replaced (0: not
 * in that shape, nothing written), or -1 with an exception set. */
static Py_ssize_t
sip_addr_split(PyObject *value, const unsigned char *d, Py_ssize_t n, char **out,
               Py_ssize_t *out_len, PyObject *real)
{
    *out = NULL;
    const unsigned char *g = memchr(d, '>', n);
    if (g == NULL || g == d)
        return 0;
    Py_ssize_t gt = g - d;
    if (gt + 1 >= n || d[gt + 1] != ';' || memchr(d + gt + 1, '>', n - gt - 1) != NULL ||
        memchr(d + gt, '"', n - gt) != NULL || memchr(d, 0x01, n) != NULL)
        return 0;
    if (d[0] != '"') { /* bracketed: a '<' before the '>', no ':' or '"' before the '<' */
        const unsigned char *l = memchr(d, '<', n);
        if (l == NULL || l - d >= gt)
            return 0;
        for (const unsigned char *q = d; q < l; q++)
            if (*q == ':' || *q == '"')
                return 0;
    }
    Py_ssize_t cap = n + 24 * (n - gt) + 32; /* each item grows by at most 1 + 20 digits */
    char *buf = PyMem_Malloc(cap);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(buf, d, gt + 2);
    Py_ssize_t o = gt + 2, p = gt + 2, index = 0, replaced = 0;
    for (;;) {
        Py_ssize_t end = p;
        while (end < n && d[end] != ';')
            end++;
        Py_ssize_t eq = p;
        while (eq < end && d[eq] != '=')
            eq++;
        int token = eq < end && eq + 1 < end;
        for (Py_ssize_t i = eq + 1; token && i < end; i++)
            token = sip_token[d[i]];
        if (token) {
            memcpy(buf + o, d + p, eq + 1 - p);
            o += eq + 1 - p;
            int w = snprintf(buf + o, 24, "\x01%zd", index);
            if (real != NULL) {
                PyObject *key = PyUnicode_DecodeASCII(buf + o, w, NULL);
                PyObject *val = PyUnicode_Substring(value, eq + 1, end);
                if (key == NULL || val == NULL || PyDict_SetItem(real, key, val) < 0) {
                    Py_XDECREF(key);
                    Py_XDECREF(val);
                    PyMem_Free(buf);
                    return -1;
                }
                Py_DECREF(key);
                Py_DECREF(val);
            }
            o += w;
            replaced++;
        }
        else {
            memcpy(buf + o, d + p, end - p);
            o += end - p;
        }
        if (end >= n)
            break;
        buf[o++] = ';';
        p = end + 1;
        index++;
    }
    if (replaced == 0) {
        PyMem_Free(buf);
        return 0;
    }
    *out = buf;
    *out_len = o;
    return replaced;
}

/* sip_addr_base(value) -> (base, {placeholder: value}) | None
 *
 * sip/message.py's _split_addr in C (see there): a From/To text "display <uri>;p=v;..." with
 * each token value after the '>' replaced by "\x01<item index>", and the values replaced.
 * None when the text is not in that shape (or not ASCII, or no value was replaced). */
static PyObject *
fast_sip_addr_base(PyObject *Py_UNUSED(module), PyObject *value)
{
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "sip_addr_base(value: str)");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(value))
        Py_RETURN_NONE;
    PyObject *real = PyDict_New();
    if (real == NULL)
        return NULL;
    char *buf;
    Py_ssize_t len;
    Py_ssize_t replaced = sip_addr_split(value, PyUnicode_1BYTE_DATA(value),
                                         PyUnicode_GET_LENGTH(value), &buf, &len, real);
    PyObject *result = NULL;
    if (replaced > 0) {
        PyObject *base = PyUnicode_DecodeASCII(buf, len, NULL);
        if (base != NULL)
            result = Py_BuildValue("(NO)", base, real);
        PyMem_Free(buf);
    }
    else if (replaced == 0)
        result = Py_NewRef(Py_None);
    Py_DECREF(real);
    return result;
}

/* Whether the ASCII From/To text d[0:n] is one sip/headers.py's parse_name_addr surely reads
 * without a problem: 1 yes, 0 "do not know" (Python parses it, as it always has). The subset
 * is what Lync sends: an optional display name (a quoted string without escapes, or tokens
 * and spaces), then "<sip:" or "<sips:" (any case), an optional user part up to the URI's
 * first '@', a host of letters, digits, '.' and '-' or a bracketed IPv6 literal, an optional
 * port of 1-5 digits up to 65535, anything without space, '<' or '"' after a ';' or '?', the
 * '>', then header parameters ";name" or ";name=value" with token names and values without
 * space, ';' or '"'. Every byte printable (0x20-0x7e): no tab or control character, so that
 * the only whitespace Python's strip() could see is a space. */
static inline int
sip_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline int
sip_hexdig(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Whether d[a:b] holds a byte of the set sip_addr_plain refuses there: outside 0x20-0x7e
 * (uri 0), or also a space, '<' or '"' (uri 1): with SSE2, sixteen bytes a step. */
static int
sip_addr_unusual(const unsigned char *d, Py_ssize_t a, Py_ssize_t b, int uri)
{
    Py_ssize_t i = a;
#if defined(__SSE2__)
    const __m128i c1f = _mm_set1_epi8(0x1f), c7f = _mm_set1_epi8(0x7f),
                  sp = _mm_set1_epi8(uri ? ' ' : 0x7f), lt = _mm_set1_epi8(uri ? '<' : 0x7f),
                  qt = _mm_set1_epi8(uri ? '"' : 0x7f);
    for (; i + 16 <= b; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(d + i));
        __m128i bad = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v);            /* v <= 0x1f */
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_max_epu8(v, c7f), v)); /* v >= 0x7f */
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, sp));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, lt));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, qt));
        if (_mm_movemask_epi8(bad))
            return 1;
    }
#endif
    for (; i < b; i++)
        if (d[i] < 0x20 || d[i] > 0x7e || (uri && (d[i] == ' ' || d[i] == '<' || d[i] == '"')))
            return 1;
    return 0;
}

static int
sip_addr_plain(const unsigned char *d, Py_ssize_t n)
{
    if (sip_addr_unusual(d, 0, n, 0))
        return 0;
    Py_ssize_t i = 0, end = n;
    while (i < end && d[i] == ' ')
        i++;
    while (end > i && d[end - 1] == ' ')
        end--;
    if (i >= end)
        return 0;
    if (d[i] == '"') { /* a quoted display name, then spaces, then '<' */
        i++;
        while (i < end && d[i] != '"') {
            if (d[i] == '\\')
                return 0;
            i++;
        }
        if (i >= end)
            return 0;
        i++;
        while (i < end && d[i] == ' ')
            i++;
        if (i >= end || d[i] != '<')
            return 0;
    }
    else { /* tokens and spaces up to the first '<' (no ':' before it: the bracketed form) */
        while (i < end && d[i] != '<') {
            if (d[i] != ' ' && !sip_token[d[i]])
                return 0;
            i++;
        }
        if (i >= end)
            return 0;
    }
    Py_ssize_t lt = i;
    const unsigned char *g = memchr(d + lt + 1, '>', end - lt - 1);
    if (g == NULL)
        return 0;
    Py_ssize_t gt = g - d;
    /* the URI d[lt+1:gt]: no space, '<' or '"' anywhere in it */
    if (sip_addr_unusual(d, lt + 1, gt, 1))
        return 0;
    Py_ssize_t p = lt + 1;
    if (gt - p >= 4 && sip_ieq(d + p, 4, "sip:"))
        p += 4;
    else if (gt - p >= 5 && sip_ieq(d + p, 5, "sips:"))
        p += 5;
    else
        return 0;
    const unsigned char *at = memchr(d + p, '@', gt - p); /* parse_uri: the first '@' */
    if (at != NULL)
        p = at - d + 1;
    Py_ssize_t h = p;
    if (p < gt && d[p] == '[') {
        p++;
        while (p < gt && (sip_hexdig(d[p]) || d[p] == ':' || d[p] == '.'))
            p++;
        if (p == h + 1 || p >= gt || d[p] != ']')
            return 0;
        p++;
    }
    else {
        while (p < gt && (sip_alnum(d[p]) || d[p] == '.' || d[p] == '-'))
            p++;
        if (p == h)
            return 0;
    }
    if (p < gt && d[p] == ':') {
        p++;
        Py_ssize_t digits = 0;
        long port = 0;
        while (p < gt && d[p] >= '0' && d[p] <= '9' && digits < 6) {
            port = port * 10 + (d[p] - '0');
            p++;
            digits++;
        }
        if (digits == 0 || digits > 5 || port > 65535)
            return 0;
    }
    if (p < gt && d[p] != ';' && d[p] != '?')
        return 0;
    /* header parameters: ";name[=value]" items up to the end */
    p = gt + 1;
    while (p < end) {
        if (d[p] != ';')
            return 0;
        p++;
        Py_ssize_t name = p;
        while (p < end && sip_token[d[p]])
            p++;
        if (p == name)
            return 0;
        if (p < end && d[p] == '=') {
            p++;
            while (p < end && d[p] != ';' && d[p] != ' ' && d[p] != '"')
                p++;
        }
        if (p < end && d[p] != ';')
            return 0;
    }
    return 1;
}

/* sip_addr_check(value) -> bool
 *
 * sip_addr_plain on a str: True when parse_name_addr surely reads it without a problem
 * (for the tests; False also for any text that is not ASCII). */
static PyObject *
fast_sip_addr_check(PyObject *Py_UNUSED(module), PyObject *value)
{
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "sip_addr_check(value: str)");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(value))
        Py_RETURN_FALSE;
    return PyBool_FromLong(
        sip_addr_plain(PyUnicode_1BYTE_DATA(value), PyUnicode_GET_LENGTH(value)));
}

/* Whether the From/To text value (NULL: the header is absent or given more than once) is one
 * sip/message.py reads without a problem: an ASCII text sip_addr_plain knows parse_name_addr
 * reads without one (decided from its bytes, nothing looked up or made), or whose key (the
 * text with placeholders when sip_addr_split gives one, the text itself otherwise) is in the
 * set ``clean`` that sip/message.py fills with what it parsed without a problem. 1 yes,
 * 0 "ask Python", -1 with an exception set.
 *
 * The set needs none of the texts sip_addr_plain accepts: two texts with one key differ only
 * in token parameter values after the '>', which sip_addr_plain accepts wherever it accepts
 * the rest, so it answers for every text of such a key by itself. */
static int
sip_addr_clean(PyObject *value, PyObject *clean, signed char *plain)
{
    if (value == NULL || !PyUnicode_Check(value) || !PyUnicode_IS_ASCII(value))
        return 0;
    const unsigned char *d = PyUnicode_1BYTE_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    int is_plain = plain != NULL && *plain >= 0 ? *plain : sip_addr_plain(d, n);
    if (plain != NULL)
        *plain = (signed char)is_plain;
    if (is_plain)
        return 1;
    char *buf;
    Py_ssize_t len;
    Py_ssize_t replaced = sip_addr_split(value, d, n, &buf, &len, NULL);
    if (replaced < 0)
        return -1;
    PyObject *key;
    if (replaced > 0) {
        key = PyUnicode_DecodeASCII(buf, len, NULL);
        PyMem_Free(buf);
        if (key == NULL)
            return -1;
    }
    else
        key = Py_NewRef(value);
    int found = PySet_Contains(clean, key);
    Py_DECREF(key);
    return found;
}

/* sip_addrs_clean(index, clean) -> int
 *
 * Whether the From (bit 1) and To (bit 2) of a message, given its lazy header index, are
 * texts sip/message.py reads without a problem (sip_addr_clean: the header appears once and
 * its text is one of those). A clear bit only means "ask Python": it reads the header the way
 * it always has. The set is only read. */
static PyObject *
fast_sip_addrs_clean(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0]) || !PyAnySet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "sip_addrs_clean(index: dict, clean: set)");
        return NULL;
    }
    long flags = 0;
    for (int which = 0; which < 2; which++) {
        PyObject *values = PyDict_GetItemWithError(args[0], sip_keys[3 + which]);
        if (values == NULL) {
            if (PyErr_Occurred())
                return NULL;
            continue;
        }
        if (!PyTuple_Check(values) || PyTuple_GET_SIZE(values) != 1)
            continue;
        int found = sip_addr_clean(PyTuple_GET_ITEM(values, 0), args[1], NULL);
        if (found < 0)
            return NULL;
        if (found)
            flags |= 1L << which;
    }
    return PyLong_FromLong(flags);
}

/* ------------------------------------------------------------------------------------------ */
/* SIP over TCP: routine segments of the directions Python handed over                         */
/*
 * Python (pipeline/connection.py) hands a direction over with sip_own() when it speaks clear
 * SIP and is at rest: no message in progress, nothing waiting behind a hole, no FIN, no
 * MS-SIPCOMP negotiation. From then on its in-order segments (no SYN, FIN or RST; sequence
 * number the next expected) are reassembled and framed here, with sip/framing.py's rules for
 * the plain case, and each message goes to the connection's fast_message(). Anything else
 * (a segment out of order, a flag, a start line that is not one, a Content-Length that is not
 * the plain one, a message past the bound, a NEGOTIATE) hands the direction back first:
 * reclaim() gets the bytes held and the counts, and Python carries on from exactly where this
 * left off. Bare ACKs of any connection are counted and dropped here (Python drops them too).
 */

/* How an owned direction is read (pipeline/connection.py READ_*): SIP framed here, each
   segment handed to the pipe's _raw_data as it is, TLS records framed here. */
#define READ_SIP 0
#define READ_RAW 1
#define READ_TLS 2
#define READ_SIPCOMP 3
/* READ_SIP from a direction's first byte, before Python sniffed it (sip_own: kind READ_SIP
   with `first` set) */
#define READ_FIRST 4
/* tls/records.py MAX_FRAGMENT: 2^14 + 2048 + 256 */
#define TLS_MAX_FRAGMENT ((1 << 14) + 2048 + 256)

/* A message in progress past this many bytes goes back to Python (its framer's bounds). */
#define SIP_HOLD_LIMIT (64 * 1024)
/* Bytes held here over every owned direction, in total. */
#define SIP_HELD_TOTAL (16 * 1024 * 1024)

static Py_ssize_t
sip_find(FastPath *fp, const FlowKey *k, uint64_t hash)
{
    size_t mask = fp->sip_cap - 1;
    size_t i = (size_t)hash & mask;
    for (;;) {
        SipFlow *f = fp->sip[i];
        if (f == NULL)
            return -1;
        if (key_equal(&f->key, k))
            return (Py_ssize_t)i;
        i = (i + 1) & mask;
    }
}

static int
sip_grow(FastPath *fp)
{
    size_t cap = fp->sip_cap * 2;
    SipFlow **fresh = PyMem_Calloc(cap, sizeof(SipFlow *));
    if (fresh == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t j = 0; j < fp->sip_cap; j++) {
        SipFlow *f = fp->sip[j];
        if (f == NULL)
            continue;
        size_t i = (size_t)flow_hash(&f->key) & (cap - 1);
        while (fresh[i] != NULL)
            i = (i + 1) & (cap - 1);
        fresh[i] = f;
    }
    PyMem_Free(fp->sip);
    fp->sip = fresh;
    fp->sip_cap = cap;
    return 0;
}

/* Empty slot i (the caller owns its flow now) and move later entries of its probe run back. */
static void
sip_remove(FastPath *fp, size_t i)
{
    size_t mask = fp->sip_cap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        SipFlow *f = fp->sip[j];
        if (f == NULL)
            break;
        size_t home = (size_t)flow_hash(&f->key) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            fp->sip[i] = f;
            i = j;
        }
    }
    fp->sip[i] = NULL;
    fp->sip_used--;
}

/* sip/message.py start_line_matches on the line d[a:eol + 1] (eol: its LF). */
static int
sip_start_line(const unsigned char *d, Py_ssize_t a, Py_ssize_t eol)
{
    if (eol - a >= 8 && memcmp(d + a, "SIP/2.0 ", 8) == 0) {
        if (eol - a < 11)
            return 0;
        for (int k = 8; k < 11; k++)
            if (d[a + k] < '0' || d[a + k] > '9')
                return 0;
        unsigned char c = d[a + 11];
        return c == ' ' || c == '\r' || c == '\n';
    }
    Py_ssize_t p = a;
    while (p < eol && sip_token[d[p]])
        p++;
    if (p == a || p >= eol || d[p] != ' ')
        return 0;
    p++;
    unsigned char c = d[p];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
        return 0;
    p++;
    while (p < eol) {
        c = d[p];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '.' || c == '-'))
            break;
        p++;
    }
    if (p >= eol || d[p] != ':')
        return 0;
    p++;
    while (p < eol && d[p] != ' ' && d[p] != '\r')
        p++;
    if (eol - p < 8 || memcmp(d + p, " SIP/2.0", 8) != 0)
        return 0;
    p += 8;
    return p == eol || (p + 1 == eol && d[p] == '\r');
}

/* Whether "negotiate" (any case) starts at d[i] (i + 9 <= the end, checked by the caller). */
static inline int
sip_negotiate_at(const unsigned char *d, Py_ssize_t i)
{
    static const char word[] = "negotiate";
    int k = 0;
    while (k < 9 && (d[i + k] | 0x20) == word[k])
        k++;
    return k == 9;
}

/* Whether d[a:b] names NEGOTIATE anywhere (any case): MS-SIPCOMP may start after it, which
   Python's NegotiationTracker follows. It runs over every header block the scan frames: with
   SSE2, sixteen positions at a time are tested for an n with a g two bytes on (rare in SIP
   text), and only those are compared in full. */
static int
sip_mentions_negotiate(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i = a;
#if defined(__SSE2__)
    const __m128i low = _mm_set1_epi8(0x20), n = _mm_set1_epi8('n'), g = _mm_set1_epi8('g');
    for (; i + 18 <= b; i += 16) {
        __m128i v0 = _mm_or_si128(_mm_loadu_si128((const __m128i *)(d + i)), low);
        __m128i v2 = _mm_or_si128(_mm_loadu_si128((const __m128i *)(d + i + 2)), low);
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(v0, n), _mm_cmpeq_epi8(v2, g)));
        while (mask) {
            Py_ssize_t j = i + __builtin_ctz(mask);
            if (j + 9 <= b && sip_negotiate_at(d, j))
                return 1;
            mask &= mask - 1;
        }
    }
#endif
    for (; i + 9 <= b; i++) {
        if ((d[i] | 0x20) == 'n' && sip_negotiate_at(d, i))
            return 1;
    }
    return 0;
}

/* Index of the chunk holding buffer offset at. */
static Py_ssize_t
sip_chunk_at(const SipFlow *f, Py_ssize_t at)
{
    Py_ssize_t c = f->nchunks - 1;
    while (c > 0 && f->chunks[c].start > at)
        c--;
    return c;
}

/* A PyMem array buf of *cap items of size bytes, grown to hold need items (its capacity
 * doubled from first until it does; *cap updated). The array, perhaps moved, or NULL with
 * MemoryError set (buf and *cap then unchanged). */
static void *
grow_array(void *buf, Py_ssize_t *cap, Py_ssize_t need, size_t size, Py_ssize_t first)
{
    Py_ssize_t n = *cap ? *cap : first;
    while (n < need)
        n *= 2;
    void *grown = PyMem_Realloc(buf, (size_t)n * size);
    if (grown == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *cap = n;
    return grown;
}

/* Keep data[0:len] (brought by the segment in frame, at ts) at the end of the flow's buffer.
   0, or -1 when memory runs out. */
static int
sip_hold(FastPath *fp, SipFlow *f, const unsigned char *data, Py_ssize_t len, long long frame,
         double ts)
{
    if (f->len + len > f->cap) {
        unsigned char *grown = grow_array(f->buf, &f->cap, f->len + len, 1, 2048);
        if (grown == NULL)
            return -1;
        f->buf = grown;
    }
    if (f->nchunks == f->chunk_cap) {
        SipChunk *grown = grow_array(f->chunks, &f->chunk_cap, f->nchunks + 1, sizeof(SipChunk), 4);
        if (grown == NULL)
            return -1;
        f->chunks = grown;
    }
    f->chunks[f->nchunks].start = f->len;
    f->chunks[f->nchunks].frame = frame;
    f->chunks[f->nchunks].ts = ts;
    f->nchunks++;
    memcpy(f->buf + f->len, data, (size_t)len);
    f->len += len;
    fp->sip_held += len;
    return 0;
}

/* Drop the first `count` bytes of the buffer (read) and the chunks wholly inside them; an
   emptied buffer is let go (most directions hold nothing between segments). */
static void
sip_consume(FastPath *fp, SipFlow *f, Py_ssize_t count)
{
    if (count <= 0)
        return;
    fp->sip_held -= count;
    if (count >= f->len) {
        PyMem_Free(f->buf);
        PyMem_Free(f->chunks);
        f->buf = NULL;
        f->chunks = NULL;
        f->len = f->cap = f->nchunks = f->chunk_cap = 0;
        return;
    }
    Py_ssize_t keep = sip_chunk_at(f, count);
    memmove(f->buf, f->buf + count, (size_t)(f->len - count));
    f->len -= count;
    Py_ssize_t m = 0;
    for (Py_ssize_t c = keep; c < f->nchunks; c++) {
        SipChunk ch = f->chunks[c];
        ch.start = ch.start > count ? ch.start - count : 0;
        f->chunks[m++] = ch;
    }
    f->nchunks = m;
}

/* What a direction's framing reads: the segment itself when nothing is held (f NULL: every
   byte came in frame, at ts), else the flow's buffer with its chunks. */
typedef struct {
    const unsigned char *d;
    Py_ssize_t n;
    const SipFlow *f;
    long long frame;
    double ts;
} SipSource;

static inline void
sip_source_at(const SipSource *src, Py_ssize_t at, long long *frame, double *ts)
{
    if (src->f == NULL) {
        *frame = src->frame;
        *ts = src->ts;
        return;
    }
    const SipChunk *c = &src->f->chunks[sip_chunk_at(src->f, at)];
    *frame = c->frame;
    *ts = c->ts;
}

/* One MS-SIPCOMP packet decoded from the segment being read (READ_SIPCOMP): its plain bytes
   at [start, end) of FastPath.plain, its size on the wire, and the segment that ended it. */
typedef struct PlainPacket {
    Py_ssize_t start, end;
    long long wire, frame;
    double ts;
} PlainPacket;

/* Where the run's plain bytes are: FastPath.plain, or where its one packet lies. */
static inline const unsigned char *
sipcomp_plain(const struct FastPath *fp)
{
    return fp->plain_ext != NULL ? fp->plain_ext : fp->plain;
}

/* For a READ_SIPCOMP flow given back: (history position, compressed bytes decoded here, frame
   of the last packet framed, [(plain, wire, frame, ts) of the packets from `from` on, not all
   framed yet], how many plain bytes of the first of them were framed, the history when it
   was made here (sipcomp_first) or None); a new reference. */
static PyObject *
sipcomp_state(FastPath *fp, const SipFlow *f, Py_ssize_t from, Py_ssize_t skip)
{
    Py_ssize_t count = from < fp->npackets ? fp->npackets - from : 0;
    PyObject *packets = PyList_New(count);
    if (packets == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < count; k++) {
        const PlainPacket *p = &fp->packets[from + k];
        PyObject *item = Py_BuildValue("(y#LLd)", (const char *)sipcomp_plain(fp) + p->start,
                                       (Py_ssize_t)(p->end - p->start), p->wire, p->frame, p->ts);
        if (item == NULL) {
            Py_DECREF(packets);
            return NULL;
        }
        PyList_SET_ITEM(packets, k, item);
    }
    const SipcompState *sc = f->sc;
    return Py_BuildValue("(nLLNnO)", sc->hpos, sc->consumed, sc->plain_frame, packets, skip,
                         sc->made && sc->hist != NULL ? sc->hist : Py_None);
}

static int tls_sync_pair(FastPath *fp, SipFlow *f);

/* sip_reclaim_from for a READ_SIPCOMP flow taken out of the table with nothing held and no
   packet pending (every one at the end of the input): its state goes to Python's
   _sipcomp_rest() as flat arguments, no list or tuple built; then it is freed. */
static int
sipcomp_reclaim_rest(FastPath *fp, SipFlow *f)
{
    PyMem_Free(f->buf);
    PyMem_Free(f->chunks);
    SipcompState *sc = f->sc;
    PyObject *result = NULL;
    sipcomp_unpin(sc); /* (the history is Python's again) */
    if (sipcomp_flush_back(fp, sc) == 0) { /* the counts charged here, before Python */
        PyObject *argv[10];
        argv[0] = f->pipe;
        argv[1] = PyLong_FromLong(f->direction);
        argv[2] = PyLong_FromLongLong(f->framed);
        argv[3] = PyLong_FromLongLong(f->taken);
        argv[4] = PyLong_FromLongLong(f->last_frame);
        argv[5] = PyFloat_FromDouble(f->last_ts);
        argv[6] = PyLong_FromSsize_t(sc->hpos);
        argv[7] = PyLong_FromLongLong(sc->consumed);
        argv[8] = PyLong_FromLongLong(sc->plain_frame);
        argv[9] = Py_NewRef(sc->made && sc->hist != NULL ? sc->hist : Py_None);
        int k = 1;
        while (k < 10 && argv[k] != NULL)
            k++;
        if (k == 10) {
            fp->sip_busy++;
            result = PyObject_VectorcallMethod(str_sipcomp_rest, argv,
                                               10 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
            fp->sip_busy--;
        }
        for (k = 1; k < 10; k++)
            Py_XDECREF(argv[k]);
    }
    if (result != NULL && sipcomp_release(sc) < 0)
        Py_CLEAR(result);
    sipcomp_free(sc);
    Py_DECREF(f->pipe);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return 0;
}

/* Take the flow in slot i out of the table and hand its state to Python's reclaim(). A
   READ_SIPCOMP flow also hands over the packets of FastPath.plain from `from` on (none
   outside sipcomp_read: the scratch is empty then), `skip` bytes of the first framed. The
   TLS session gets the counts of both its directions' routine records first (reclaim may
   feed it bytes). */
static int
sip_reclaim_from(FastPath *fp, size_t i, Py_ssize_t from, Py_ssize_t skip)
{
    if (tls_sync_pair(fp, fp->sip[i]) < 0)
        return -1;
    SipFlow f = *fp->sip[i];
    PyMem_Free(fp->sip[i]);
    sip_remove(fp, i);
    fp->sip_held -= f.len;
    if (f.kind == READ_SIPCOMP && f.sc != NULL && f.nchunks == 0 && from >= fp->npackets)
        return sipcomp_reclaim_rest(fp, &f);
    PyObject *chunks = PyList_New(f.nchunks);
    int ok = chunks != NULL;
    for (Py_ssize_t c = 0; ok && c < f.nchunks; c++) {
        Py_ssize_t a = f.chunks[c].start;
        Py_ssize_t b = c + 1 < f.nchunks ? f.chunks[c + 1].start : f.len;
        PyObject *item = Py_BuildValue("(y#Ld)", (const char *)f.buf + a, (Py_ssize_t)(b - a),
                                       f.chunks[c].frame, f.chunks[c].ts);
        if (item == NULL)
            ok = 0;
        else
            PyList_SET_ITEM(chunks, c, item);
    }
    PyMem_Free(f.buf);
    PyMem_Free(f.chunks);
    PyObject *state = NULL;
    if (ok && f.kind == READ_SIPCOMP && f.sc != NULL) {
        state = sipcomp_state(fp, &f, from, skip);
        ok = state != NULL;
    }
    PyObject *result = NULL;
    if (f.sc != NULL)
        sipcomp_unpin(f.sc); /* (the run's bytes copied: the history is Python's again) */
    if (ok && sipcomp_flush_back(fp, f.sc) < 0) /* the counts charged here, before Python */
        ok = 0;
    if (ok) {
        fp->sip_busy++;
        if (state != NULL)
            result = PyObject_CallMethod(f.pipe, "reclaim", "iLLOLdO", f.direction, f.framed,
                                         f.taken, chunks, f.last_frame, f.last_ts, state);
        else
            result = PyObject_CallMethod(f.pipe, "reclaim", "iLLOLd", f.direction, f.framed,
                                         f.taken, chunks, f.last_frame, f.last_ts);
        fp->sip_busy--;
    }
    Py_XDECREF(state);
    Py_XDECREF(chunks);
    if (result != NULL && f.sc != NULL && sipcomp_release(f.sc) < 0)
        Py_CLEAR(result);
    sipcomp_free(f.sc);
    Py_DECREF(f.pipe);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return 0;
}

static int
sip_reclaim(FastPath *fp, size_t i)
{
    return sip_reclaim_from(fp, i, 0, 0);
}

/* Reclaim the flow with this key, if owned. */
static int
sip_reclaim_key(FastPath *fp, const FlowKey *k)
{
    if (fp->sip_used == 0)
        return 0;
    Py_ssize_t i = sip_find(fp, k, flow_hash(k));
    return i < 0 ? 0 : sip_reclaim(fp, (size_t)i);
}

static void
sip_reverse(const FlowKey *k, FlowKey *r)
{
    *r = *k;
    memcpy(r->src, k->dst, 16);
    memcpy(r->dst, k->src, 16);
    r->sport = k->dport;
    r->dport = k->sport;
}

/*
 * The next message of d[*pos:n] by sip/framing.py's rules for the plain case, CR/LF
 * keep-alives before it skipped (*pos moves past them): 1 with its size, where its empty line
 * ends (from its start) and its Content-Length; 0 when more bytes are needed; -1 when Python
 * must read what is there (not a start line, no plain Content-Length, past the bound, a
 * NEGOTIATE, which MS-SIPCOMP may follow).
 */
static int
sip_next_message(const unsigned char *d, Py_ssize_t *pos, Py_ssize_t n, Py_ssize_t max_message,
                 Py_ssize_t *size, Py_ssize_t *header_end, long long *length)
{
    Py_ssize_t p = *pos;
    while (p < n && (d[p] == '\r' || d[p] == '\n'))
        p++;
    *pos = p;
    if (p >= n)
        return 0;
    const unsigned char *lf = memchr(d + p, '\n', (size_t)(n - p));
    if (lf == NULL)
        return sip_token[d[p]] && n - p <= max_message ? 0 : -1;
    if (!sip_start_line(d, p, lf - d))
        return -1;
    int bare;
    Py_ssize_t empty = sip_empty_line(d, p, n, &bare);
    if (empty < 0)
        return n - p > max_message ? -1 : 0;
    Py_ssize_t end = empty + 1, body_start = end + (bare ? 1 : 2);
    long long cl = sip_only_content_length(d, p, end);
    if (cl < 0 || body_start - p + cl > max_message || sip_mentions_negotiate(d, p, end))
        return -1;
    if (n - p < body_start - p + cl)
        return 0;
    *size = body_start - p + (Py_ssize_t)cl;
    *header_end = end - p;
    *length = cl;
    return 1;
}

/* sip_frame_chunk(data, max_message) -> (consumed, [(start, size, header_end, length), ...]) */
static PyObject *
fast_sip_frame_chunk(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "sip_frame_chunk(data: bytes, max_message: int)");
        return NULL;
    }
    Py_ssize_t max_message = PyLong_AsSsize_t(args[1]);
    if (max_message == -1 && PyErr_Occurred())
        return NULL;
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]), pos = 0;
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    for (;;) {
        Py_ssize_t size, header_end;
        long long length;
        if (sip_next_message(d, &pos, n, max_message, &size, &header_end, &length) <= 0)
            break;
        PyObject *item = Py_BuildValue("(nnnL)", pos, size, header_end, length);
        if (item == NULL || PyList_Append(found, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(found);
            return NULL;
        }
        Py_DECREF(item);
        pos += size;
    }
    return Py_BuildValue("(nN)", pos, found);
}

/* ---- MS-SIPCOMP's clear NEGOTIATE exchange, read in one call ----
 *
 * A connection that compresses opens with a NEGOTIATE request and its answer in clear SIP;
 * Python's NegotiationTracker reads three headers of each (the first CSeq, the first Call-ID,
 * whether a Compression header offers LZ77-8K). sip_negotiate_chunk frames such a message
 * when it is the whole of a segment and reads those headers here, so that the connection
 * delivers it and feeds the tracker without its Python framer and header scan. Only the plain
 * shape is taken, where the answer is surely the one Python gives: CRLF lines, each header a
 * token, blanks, a colon and a value without control bytes in the three read; one CSeq of
 * the form "<1-9 digits> NEGOTIATE"; one Call-ID (or i); at most one Compression. */

/* Whether d[a:b] is word (lower case) in any case: scan_name_is with the length checked.
   Inline, so that a literal word's length is known and most names fail on it. */
static inline int
neg_word_is(const unsigned char *d, Py_ssize_t a, Py_ssize_t b, const char *word)
{
    Py_ssize_t n = (Py_ssize_t)strlen(word);
    return b - a == n && scan_name_is(d, a, n, (const unsigned char *)word);
}

/* Whether a Compression value d[a:b] names LZ77-8K as one of its comma-separated tokens
   (parameters after ';' and blanks around ignored), as _negotiation_fields reads it. */
static int
neg_offers_lz77(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t p = a;
    while (p <= b) {
        Py_ssize_t end = p;
        while (end < b && d[end] != ',')
            end++;
        Py_ssize_t s = p, e = end;
        for (Py_ssize_t k = p; k < end; k++)
            if (d[k] == ';') {
                e = k;
                break;
            }
        while (s < e && (d[s] == ' ' || d[s] == '\t'))
            s++;
        while (e > s && (d[e - 1] == ' ' || d[e - 1] == '\t'))
            e--;
        if (neg_word_is(d, s, e, "lz77-8k"))
            return 1;
        p = end + 1;
    }
    return 0;
}

/* sip_negotiate_chunk(data, max_message)
     -> (header_end, length, call_id, cseq_number, offers) | None */
static PyObject *
fast_sip_negotiate_chunk(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "sip_negotiate_chunk(data: bytes, max_message: int)");
        return NULL;
    }
    Py_ssize_t max_message = PyLong_AsSsize_t(args[1]);
    if (max_message == -1 && PyErr_Occurred())
        return NULL;
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    if (n == 0 || n > max_message || d[0] == '\r' || d[0] == '\n')
        Py_RETURN_NONE;
    const unsigned char *lf = memchr(d, '\n', (size_t)n);
    if (lf == NULL || !sip_start_line(d, 0, lf - d))
        Py_RETURN_NONE;
    Py_ssize_t line_end = lf - d;
    if (line_end < 1 || d[line_end - 1] != '\r')
        Py_RETURN_NONE;
    int request = memcmp(d, "SIP/2.0 ", 8) != 0;
    if (request) {
        Py_ssize_t sp = 0;
        while (sp < line_end && d[sp] != ' ')
            sp++;
        if (!neg_word_is(d, 0, sp, "negotiate"))
            Py_RETURN_NONE;
    }
    int bare;
    Py_ssize_t empty = sip_empty_line(d, 0, n, &bare);
    if (empty < 0 || bare)
        Py_RETURN_NONE;
    Py_ssize_t end = empty + 1, body_start = end + 2;
    long long cl = sip_only_content_length(d, 0, end);
    if (cl < 0 || cl != n - body_start)
        Py_RETURN_NONE;
    /* The header lines d[line_end + 1 : end], each ending CRLF. */
    Py_ssize_t cseq_a = -1, cseq_b = -1, id_a = -1, id_b = -1;
    int cseqs = 0, ids = 0, compressions = 0, offers = 0;
    Py_ssize_t p = line_end + 1;
    while (p < end) {
        const unsigned char *eol = memchr(d + p, '\n', (size_t)(end - p));
        if (eol == NULL)
            Py_RETURN_NONE;
        Py_ssize_t le = eol - d; /* the LF */
        if (le - 1 < p || d[le - 1] != '\r')
            Py_RETURN_NONE;
        Py_ssize_t q = p;
        while (q < le - 1 && sip_token[d[q]])
            q++;
        Py_ssize_t name_end = q;
        if (name_end == p)
            Py_RETURN_NONE;
        while (q < le - 1 && (d[q] == ' ' || d[q] == '\t'))
            q++;
        if (q >= le - 1 || d[q] != ':')
            Py_RETURN_NONE;
        Py_ssize_t va = q + 1, vb = le - 1;
        if (vb > va && memchr(d + va, '\r', (size_t)(vb - va)) != NULL)
            Py_RETURN_NONE;
        unsigned char c0 = (unsigned char)(d[p] | 0x20);
        int which = 0; /* 1 CSeq, 2 Call-ID, 3 Compression */
        if (c0 == 'c') {
            if (neg_word_is(d, p, name_end, "cseq"))
                which = 1;
            else if (neg_word_is(d, p, name_end, "call-id"))
                which = 2;
            else if (neg_word_is(d, p, name_end, "compression"))
                which = 3;
        }
        else if (c0 == 'i' && name_end - p == 1)
            which = 2;
        if (which) {
            while (va < vb && (d[va] == ' ' || d[va] == '\t'))
                va++;
            while (vb > va && (d[vb - 1] == ' ' || d[vb - 1] == '\t'))
                vb--;
            for (Py_ssize_t k = va; k < vb; k++)
                if (d[k] < 0x20 || d[k] > 0x7e)
                    Py_RETURN_NONE;
            if (which == 1) {
                cseqs++;
                cseq_a = va;
                cseq_b = va;
                while (cseq_b < vb && d[cseq_b] >= '0' && d[cseq_b] <= '9')
                    cseq_b++;
                if (cseq_b == va || cseq_b - va > 9 || vb - cseq_b != 10 || d[cseq_b] != ' ' ||
                    !neg_word_is(d, cseq_b + 1, vb, "negotiate"))
                    Py_RETURN_NONE;
            }
            else if (which == 2) {
                ids++;
                id_a = va;
                id_b = vb;
            }
            else {
                compressions++;
                offers = neg_offers_lz77(d, va, vb);
            }
        }
        p = le + 1;
    }
    if (cseqs != 1 || ids != 1 || compressions > 1)
        Py_RETURN_NONE;
    return Py_BuildValue("(nLs#s#O)", end, cl, (const char *)d + id_a, id_b - id_a,
                         (const char *)d + cseq_a, cseq_b - cseq_a,
                         offers ? Py_True : Py_False);
}

/* ---- A clear SIP message made here: sip/message.py's _lazy_message, the clean case ----
 *
 * The compiled scan frames a clear SIP message; instead of _deliver -> parse_message ->
 * sip_head -> _lazy_message, the SipMessage is made here (tp_alloc of the exact class, every
 * slot filled at its member offset with the value _lazy_message gives it) when its head is
 * one sip_head reads and nothing in it gives a parse-time defect: a single Content-Length
 * that the body fills, the five required headers, no single header given twice, a plain CSeq
 * that names the method. Anything else gives None and Python parses the message as before,
 * so every defect is still found by the Python code, in its order. From and To are marked
 * read as _lazy_message marks them (sip_addrs_clean, else its _presolve_addr). The class,
 * its markers, the set of clean address texts and _presolve_addr come from sip/message.py
 * (sip_message_setup); while the class has other slots than these, nothing is made here. */
enum {
    MK_METHOD, MK_URI, MK_STATUS, MK_REASON, MK_VERSION, MK_RAW, MK_DEFECTS, MK_FRAME,
    MK_FIRST_FRAME, MK_TIME, MK_SRC, MK_DST, MK_TRANSPORT, MK_STREAM_ID, MK_COMPRESSED,
    MK_WIRE_SIZE, MK_PARTIAL, MK_RETRANSMISSION, MK_ENCAPSULATION, MK_INDEX, MK_COMPLETE,
    MK_LOOKUPS, MK_HEADERS, MK_BODY, MK_BUF, MK_HSTART, MK_HEND, MK_BSTART, MK_CACHE, MK_VIA,
    MK_FROM, MK_TO, MK_CSEQ, MK_CTYPE, MK_TAKEN, MK_COUNT
};
static const char *const mk_slot_names[MK_COUNT] = {
    "method", "request_uri", "status", "reason", "version", "raw", "_defects", "frame",
    "first_frame", "time", "src", "dst", "transport", "stream_id", "compressed", "wire_size",
    "partial", "retransmission", "encapsulation", "_index", "_complete", "_lookups",
    "_headers", "_body", "_buf", "_hstart", "_hend", "_bstart", "_cache_d", "_via", "_from",
    "_to", "_cseq", "_ctype", "_taken"};

static struct {
    int ready;   /* messages may be made here */
    int strings; /* the names below exist */
    PyTypeObject *type; /* SipMessage (strong references from here on) */
    PyObject *unset, *checked, *clean, *presolve;
    Py_ssize_t off[MK_COUNT];
    PyObject *names[MK_COUNT];
    PyObject *version, *from, *to, *hand, *make_hand, *sip_messages, *methods, *statuses,
        *transports, *other, *question, *slots;
} mk;

static int count_add(PyObject *obj, PyObject *name, long long delta);
static PyObject *slot_get(PyObject *obj, PyObject *name);
static int body_has_ice_words(const unsigned char *d, Py_ssize_t n);
static Py_ssize_t match_slot(PyTypeObject *type, PyObject *name);
static inline PyObject *slot_at(PyObject *obj, Py_ssize_t off);

static int
mk_strings(void)
{
    if (mk.strings)
        return 0;
    for (int i = 0; i < MK_COUNT; i++)
        if ((mk.names[i] = PyUnicode_InternFromString(mk_slot_names[i])) == NULL)
            return -1;
    PyObject **dst[] = {&mk.version, &mk.from, &mk.to, &mk.hand, &mk.make_hand,
                        &mk.sip_messages, &mk.methods, &mk.statuses, &mk.transports, &mk.other,
                        &mk.question, &mk.slots};
    const char *src[] = {"SIP/2.0", "from", "to", "_hand", "_make_hand", "sip_messages",
                         "methods", "statuses", "transports", "(other)", "?", "__slots__"};
    for (int i = 0; i < 12; i++)
        if ((*dst[i] = PyUnicode_InternFromString(src[i])) == NULL)
            return -1;
    mk.strings = 1;
    return 0;
}

/* sip_message_setup(SipMessage, unset, checked, clean, presolve) -> bool */
static PyObject *
fast_sip_message_setup(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyType_Check(args[0]) || !PyAnySet_Check(args[3]) ||
        !PyCallable_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "sip_message_setup(SipMessage, unset, checked, clean: set, presolve)");
        return NULL;
    }
    if (mk_strings() < 0)
        return NULL;
    mk.ready = 0;
    PyTypeObject *type = (PyTypeObject *)args[0];
    Py_XSETREF(mk.type, (PyTypeObject *)Py_NewRef(type));
    Py_XSETREF(mk.unset, Py_NewRef(args[1]));
    Py_XSETREF(mk.checked, Py_NewRef(args[2]));
    Py_XSETREF(mk.clean, Py_NewRef(args[3]));
    Py_XSETREF(mk.presolve, Py_NewRef(args[4]));
    if (type->tp_new != PyBaseObject_Type.tp_new || type->tp_alloc == NULL ||
        type->tp_init == NULL)
        Py_RETURN_FALSE;
    for (int i = 0; i < MK_COUNT; i++)
        if ((mk.off[i] = match_slot(type, mk.names[i])) < 0)
            Py_RETURN_FALSE;
    /* The class's own slots must be exactly these: a new one would be left unset here. */
    PyObject *slots = PyObject_GetAttr((PyObject *)type, mk.slots);
    if (slots == NULL)
        return NULL;
    int same = PyTuple_Check(slots) && PyTuple_GET_SIZE(slots) == MK_COUNT;
    for (Py_ssize_t i = 0; same && i < MK_COUNT; i++) {
        PyObject *name = PyTuple_GET_ITEM(slots, i);
        int found = 0;
        for (int k = 0; k < MK_COUNT && !found; k++)
            found = PyUnicode_Check(name) && PyUnicode_Compare(name, mk.names[k]) == 0;
        same = found;
    }
    Py_DECREF(slots);
    if (PyErr_Occurred())
        return NULL;
    mk.ready = same;
    return PyBool_FromLong(same);
}

/* Put value (borrowed) in slot k of msg, a message made here. */
static inline void
mk_set(PyObject *msg, int k, PyObject *value)
{
    PyObject **at = (PyObject **)((char *)msg + mk.off[k]);
    Py_XSETREF(*at, Py_NewRef(value));
}

/* A plain decimal ASCII text (as _int_in_range reads a stripped one), or -1. */
static long long
mk_digits(PyObject *text)
{
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text))
        return -1;
    const unsigned char *p = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n == 0 || n > 15)
        return -1;
    long long v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/*
 * The SipMessage parse_message(data, header_end=he, content_length=cl) gives, made here when
 * it is the clean case above (a new reference); None (a new reference) when Python must
 * parse it; NULL on a Python error. he: an int (-1: not known); cl: an int or None.
 */
static PyObject *
sip_make(PyObject *data, PyObject *he, PyObject *cl)
{
    if (!mk.ready || !PyBytes_CheckExact(data))
        Py_RETURN_NONE;
    Py_ssize_t he_at = PyLong_AsSsize_t(he);
    if (he_at == -1 && PyErr_Occurred())
        return NULL;
    SipHead h;
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    int rc = sip_head_read((const unsigned char *)PyBytes_AS_STRING(data), n, he_at, &h);
    if (rc <= 0) {
        if (rc < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *msg = NULL, *status = NULL, *hstart = NULL, *hend = NULL, *bstart = NULL;
    if (h.cseq == NULL || h.cseq == Py_None)
        goto none; /* absent, or not plain: _check_cseq reads it */
    if (h.method != NULL && PyUnicode_Compare(PyTuple_GET_ITEM(h.cseq, 1), h.method) != 0)
        goto none_or_fail; /* "CSeq method ... differs" */
    /* _REQUIRED: via, from, to, call-id, cseq (sip_keys 2, 3, 4, 0, 1) */
    static const int required[5] = {2, 3, 4, 0, 1};
    for (int k = 0; k < 5; k++)
        if (h.count[required[k]] == 0)
            goto none;
    /* _SINGLE: call-id, cseq, from, to, max-forwards, content-type */
    static const int single[6] = {0, 1, 3, 4, 7, 5};
    for (int k = 0; k < 6; k++)
        if (h.count[single[k]] > 1)
            goto none;
    if (h.count[6] != 1)
        goto none;
    long long length;
    if (cl == Py_None)
        length = mk_digits(h.first[6]);
    else {
        length = PyLong_AsLongLong(cl);
        if (length == -1 && PyErr_Occurred())
            goto fail;
    }
    if (length < 0 || length != (long long)(n - h.body_start))
        goto none;

    status = h.status >= 0 ? PyLong_FromLong(h.status) : Py_NewRef(Py_None);
    hstart = PyLong_FromSsize_t(h.sl_end);
    hend = PyLong_FromSsize_t(h.he);
    bstart = PyLong_FromSsize_t(h.body_start);
    if (status == NULL || hstart == NULL || hend == NULL || bstart == NULL)
        goto fail;
    msg = mk.type->tp_alloc(mk.type, 0);
    if (msg == NULL)
        goto fail;
    mk_set(msg, MK_METHOD, h.method ? h.method : Py_None);
    mk_set(msg, MK_URI, h.uri ? h.uri : Py_None);
    mk_set(msg, MK_STATUS, status);
    mk_set(msg, MK_REASON, h.reason ? h.reason : Py_None);
    mk_set(msg, MK_VERSION, mk.version);
    mk_set(msg, MK_RAW, data);
    mk_set(msg, MK_DEFECTS, Py_None);
    static const int none_slots[] = {MK_FRAME, MK_FIRST_FRAME, MK_TIME, MK_SRC, MK_DST,
                                     MK_TRANSPORT, MK_STREAM_ID, MK_WIRE_SIZE,
                                     MK_ENCAPSULATION, MK_HEADERS, MK_BODY, MK_CACHE};
    for (size_t k = 0; k < sizeof none_slots / sizeof none_slots[0]; k++)
        mk_set(msg, none_slots[k], Py_None);
    mk_set(msg, MK_COMPRESSED, Py_False);
    mk_set(msg, MK_PARTIAL, Py_False);
    mk_set(msg, MK_RETRANSMISSION, Py_False);
    mk_set(msg, MK_INDEX, h.index);
    mk_set(msg, MK_COMPLETE, Py_False);
    PyObject *zero_int = PyLong_FromLong(0); /* a cached small int */
    if (zero_int == NULL)
        goto fail;
    mk_set(msg, MK_LOOKUPS, zero_int);
    mk_set(msg, MK_TAKEN, zero_int);
    Py_DECREF(zero_int);
    mk_set(msg, MK_BUF, data);
    mk_set(msg, MK_HSTART, hstart);
    mk_set(msg, MK_HEND, hend);
    mk_set(msg, MK_BSTART, bstart);
    mk_set(msg, MK_VIA, mk.unset);
    mk_set(msg, MK_FROM, mk.unset);
    mk_set(msg, MK_TO, mk.unset);
    mk_set(msg, MK_CTYPE, mk.unset);
    mk_set(msg, MK_CSEQ, h.cseq);
    /* From and To: read before without a problem, or read now (_presolve_addr). */
    for (int which = 0; which < 2; which++) {
        /* sip_addr_plain's answer kept with the value, while the cache holds it */
        SipValueEntry *e = h.entry[3 + which];
        signed char *plain = e != NULL && e->one != NULL &&
                                     PyTuple_GET_ITEM(e->one, 0) == h.first[3 + which]
                                 ? &e->plain
                                 : NULL;
        int clean = sip_addr_clean(h.count[3 + which] == 1 ? h.first[3 + which] : NULL,
                                   mk.clean, plain);
        if (clean < 0)
            goto fail;
        if (clean) {
            mk_set(msg, which ? MK_TO : MK_FROM, mk.checked);
            continue;
        }
        PyObject *pargs[3] = {msg, h.index, which ? mk.to : mk.from};
        PyObject *r = PyObject_Vectorcall(mk.presolve, pargs, 3, NULL);
        if (r == NULL)
            goto fail;
        Py_DECREF(r);
    }
    Py_DECREF(status);
    Py_DECREF(hstart);
    Py_DECREF(hend);
    Py_DECREF(bstart);
    sip_head_clear(&h);
    return msg;
none_or_fail:
    if (PyErr_Occurred())
        goto fail;
none:
    sip_head_clear(&h);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(msg);
    Py_XDECREF(status);
    Py_XDECREF(hstart);
    Py_XDECREF(hend);
    Py_XDECREF(bstart);
    sip_head_clear(&h);
    return NULL;
}

/* sip_message(data, header_end, content_length) -> SipMessage | None */
static PyObject *
fast_sip_message(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_Check(args[0]) || !PyLong_Check(args[1]) ||
        !(args[2] == Py_None || PyLong_Check(args[2]))) {
        PyErr_SetString(PyExc_TypeError,
                        "sip_message(data: bytes, header_end: int, content_length: int | None)");
        return NULL;
    }
    return sip_make(args[0], args[1], args[2]);
}

static Py_ssize_t mp_find_delimiter(const unsigned char *d, Py_ssize_t n,
                                    const unsigned char *delim, Py_ssize_t dl, Py_ssize_t pos);
static int part_head_may_matter(const unsigned char *d, Py_ssize_t a, Py_ssize_t b);

/* sip/message.py's MAX_HEADERS: the parts SipMessage.part_spans cuts at most (a test checks). */
#define MK_MAX_PARTS 1000
/* Longer boundaries are left to Python (RFC 2046 allows 70 characters). */
#define MK_MAX_BOUNDARY 256

/*
 * Whether a multipart body is one media/stats.py's sdp_bodies takes nothing from, with
 * nothing noted on the way (1), or Python must look (0). v[0:len] is the Content-Type value
 * (ASCII), v[0:head] its media type (multipart/...). The boundary is read as
 * content_type_params reads it (split_params on ';' outside quotes, the last "boundary"
 * parameter, unquoted), for the plain texts only: a backslash or a control character other
 * than a tab gives 0. Then the parts are cut as SipMessage.part_spans cuts them (multipart
 * spans, MK_MAX_PARTS of them): 1 only when the close delimiter ends them (part_spans notes
 * nothing: a boundary found, the close delimiter there) and no part's header block may name
 * application/sdp or a multipart type (part_head_matters: sdp_bodies parses none of them).
 */
static int
mk_multipart_quiet(const unsigned char *v, Py_ssize_t len, Py_ssize_t head,
                   const unsigned char *body, Py_ssize_t n)
{
    for (Py_ssize_t i = head; i < len; i++) {
        unsigned char c = v[i];
        if (c == '\\' || c == 0x7f || (c < 0x20 && c != '\t'))
            return 0;
    }
    Py_ssize_t i = head;
    while (i < len && v[i] != ';')
        i++;
    const unsigned char *bv = NULL;
    Py_ssize_t bl = 0;
    while (i < len) { /* v[i] is a ';' outside quotes: an item follows */
        Py_ssize_t s = ++i;
        int quoted = 0;
        while (i < len && (quoted || v[i] != ';')) {
            if (v[i] == '"')
                quoted = !quoted;
            i++;
        }
        Py_ssize_t e = i, eq = s;
        while (eq < e && v[eq] != '=')
            eq++;
        Py_ssize_t ns = s, ne = eq;
        while (ns < ne && (v[ns] == ' ' || v[ns] == '\t'))
            ns++;
        while (ne > ns && (v[ne - 1] == ' ' || v[ne - 1] == '\t'))
            ne--;
        if (!(ne - ns == 8 && sip_ieq(v + ns, 8, "boundary")))
            continue;
        if (eq == e) { /* "boundary" without '=': an empty value */
            bv = NULL;
            bl = 0;
            continue;
        }
        Py_ssize_t vs = eq + 1, ve = e;
        while (vs < ve && (v[vs] == ' ' || v[vs] == '\t'))
            vs++;
        while (ve > vs && (v[ve - 1] == ' ' || v[ve - 1] == '\t'))
            ve--;
        if (ve - vs >= 2 && v[vs] == '"' && v[ve - 1] == '"') {
            vs++;
            ve--;
        }
        bv = v + vs;
        bl = ve - vs;
    }
    if (bl == 0 || bl > MK_MAX_BOUNDARY)
        return 0; /* none or empty: part_spans notes it; too long: Python reads it */
    unsigned char delim[MK_MAX_BOUNDARY + 2];
    delim[0] = delim[1] = '-';
    memcpy(delim + 2, bv, (size_t)bl);
    Py_ssize_t dl = bl + 2;
    /* multipart_spans, as fast_multipart_spans cuts them, each part's head looked at */
    Py_ssize_t pos = mp_find_delimiter(body, n, delim, dl, 0);
    if (pos < 0)
        return 0; /* "multipart boundary not found in body" */
    for (int parts = 0; parts < MK_MAX_PARTS; parts++) {
        Py_ssize_t after = pos + dl;
        if (after + 2 <= n && body[after] == '-' && body[after + 1] == '-')
            return 1; /* the close delimiter: no problem, no part that matters */
        const unsigned char *lf =
            after < n ? memchr(body + after, '\n', (size_t)(n - after)) : NULL;
        if (lf == NULL)
            return 0; /* "multipart body without close delimiter" */
        Py_ssize_t start = lf - body + 1;
        Py_ssize_t nxt = mp_find_delimiter(body, n, delim, dl, start);
        if (nxt < 0)
            return 0; /* the last part runs to the end: no close delimiter */
        Py_ssize_t end = nxt - 1;
        if (end > start && body[end - 1] == '\r')
            end--;
        if (end < start)
            end = start;
        if (part_head_may_matter(body, start, end))
            return 0;
        pos = nxt;
    }
    return 0; /* MK_MAX_PARTS parts and no close delimiter: noted */
}

/* Whether a body may matter to MediaPipeline.sip_message: it holds ICE words, or the
 * message's Content-Type (ctype: the first value, or NULL without one) may be application/sdp
 * or multipart (sdp_bodies), unless mk_multipart_quiet clears the multipart body (no part
 * sdp_bodies would take, nothing part_spans would note). A Content-Type that is not a plain
 * "type/subtype" (then blanks and a ';', or nothing) is taken to matter: Python reads it. */
static int
mk_body_matters(PyObject *ctype, const unsigned char *body, Py_ssize_t n)
{
    if (n == 0)
        return 0;
    if (body_has_ice_words(body, n))
        return 1;
    if (ctype == NULL)
        return 0;
    if (!PyUnicode_Check(ctype) || !PyUnicode_IS_ASCII(ctype))
        return 1;
    const unsigned char *v = PyUnicode_1BYTE_DATA(ctype);
    Py_ssize_t len = PyUnicode_GET_LENGTH(ctype), i = 0;
    while (i < len && (sip_token[v[i]] || v[i] == '/'))
        i++;
    Py_ssize_t head = i;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (head == 0 || (i < len && v[i] != ';'))
        return 1;
    if (head == 15 && sip_ieq(v, 15, "application/sdp"))
        return 1;
    if (!(head >= 10 && sip_ieq(v, 10, "multipart/")))
        return 0;
    return !mk_multipart_quiet(v, len, head, body, n);
}

/* sip_body_matters(content_type, body) -> bool (mk_body_matters, for tests) */
static PyObject *
fast_sip_body_matters(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !(args[0] == Py_None || PyUnicode_Check(args[0])) ||
        !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "sip_body_matters(content_type: str | None, body)");
        return NULL;
    }
    return PyBool_FromLong(mk_body_matters(args[0] == Py_None ? NULL : args[0],
                                           (const unsigned char *)PyBytes_AS_STRING(args[1]),
                                           PyBytes_GET_SIZE(args[1])));
}

/* The last counter type mk_plain_counter looked at (a strong reference), the version tag it
   had then, and what was found. */
static struct {
    PyTypeObject *type;
    unsigned int tag;
    int plain;
} mk_ctr;

/* Whether counter is a dict whose __getitem__, __setitem__, __contains__ and __len__ are
   dict's own (Counts, Counter: their __missing__ and __delitem__ differ, and a key present
   reaches neither), so that a present key counts with PyDict_* calls. Looked up once per
   type, again when the type changes (its version tag). */
static int
mk_plain_counter(PyObject *counter)
{
    if (!PyDict_Check(counter))
        return 0;
    PyTypeObject *t = Py_TYPE(counter);
    if (t == &PyDict_Type)
        return 1;
    if (t == mk_ctr.type && t->tp_version_tag != 0 && t->tp_version_tag == mk_ctr.tag &&
        PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG))
        return mk_ctr.plain;
    static const char *const names[] = {"__getitem__", "__setitem__", "__contains__",
                                        "__len__"};
    int plain = 1;
    for (int i = 0; i < 4 && plain; i++) {
        PyObject *mine = PyObject_GetAttrString((PyObject *)t, names[i]);
        PyObject *dicts = PyObject_GetAttrString((PyObject *)&PyDict_Type, names[i]);
        plain = mine != NULL && mine == dicts;
        Py_XDECREF(mine);
        Py_XDECREF(dicts);
    }
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    Py_XSETREF(mk_ctr.type, (PyTypeObject *)Py_NewRef(t));
    /* (the lookups above gave the type a version tag: it changes when the type does) */
    mk_ctr.tag = PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) ? t->tp_version_tag : 0;
    mk_ctr.plain = plain;
    return plain;
}

/* counter[key] += 1, as Stats.count_message does it (a Counter: a missing key counts from
   0); past limit names (limit >= 0) a new key counts under "(other)". A key the counter holds
   already, with an exact int, is counted with dict operations on the counter itself (the
   common case: a handful of methods, statuses and transports); anything else, a new key
   included, as Python would (item access, its __missing__, +=, assignment). */
static int
mk_count(PyObject *stats, PyObject *field, PyObject *key, long long limit)
{
    PyObject *counter = slot_get(stats, field);
    if (counter == NULL)
        return -1;
    int rc = -1;
    int plain = mk_plain_counter(counter);
    if (plain) {
        PyObject *old = PyDict_GetItemWithError(counter, key); /* borrowed */
        if (old == NULL && PyErr_Occurred())
            goto done;
        if (old != NULL && PyLong_CheckExact(old)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(old, &overflow);
            if (!overflow && v < LLONG_MAX && !(v == -1 && PyErr_Occurred())) {
                PyObject *sum = PyLong_FromLongLong(v + 1);
                if (sum != NULL) {
                    rc = PyDict_SetItem(counter, key, sum);
                    Py_DECREF(sum);
                }
                goto done;
            }
            PyErr_Clear();
        }
    }
    if (limit >= 0) {
        int has = PySequence_Contains(counter, key);
        if (has < 0)
            goto done;
        if (!has) {
            Py_ssize_t size = PyObject_Size(counter);
            if (size < 0)
                goto done;
            if (size >= limit)
                key = mk.other;
        }
    }
    PyObject *old = PyObject_GetItem(counter, key);
    if (old == NULL)
        goto done;
    PyObject *one = PyLong_FromLong(1);
    PyObject *sum = one != NULL ? PyNumber_InPlaceAdd(old, one) : NULL;
    Py_DECREF(old);
    Py_XDECREF(one);
    if (sum != NULL) {
        rc = PyObject_SetItem(counter, key, sum);
        Py_DECREF(sum);
    }
done:
    Py_DECREF(counter);
    return rc;
}

/* Stats.count_message(msg) for a message made here (its method, status, transport). */
static int
mk_count_message(PyObject *stats, PyObject *msg, long long limit)
{
    if (count_add(stats, mk.sip_messages, 1) < 0)
        return -1;
    PyObject *method = slot_at(msg, mk.off[MK_METHOD]);
    PyObject *status = slot_at(msg, mk.off[MK_STATUS]);
    PyObject *transport = slot_at(msg, mk.off[MK_TRANSPORT]);
    if (method == NULL || status == NULL || transport == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a SipMessage slot is not set");
        return -1;
    }
    if (method != Py_None) {
        if (mk_count(stats, mk.methods, method, limit) < 0)
            return -1;
    }
    else if (status != Py_None) {
        if (mk_count(stats, mk.statuses, status, limit) < 0)
            return -1;
    }
    int truth = PyObject_IsTrue(transport);
    if (truth < 0)
        return -1;
    return mk_count(stats, mk.transports, truth ? transport : mk.question, -1);
}

/* sip_count_message(stats, msg, limit) -> None (mk_count_message, for tests) */
static PyObject *
fast_sip_count_message(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !mk.ready || Py_TYPE(args[1]) != mk.type || !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "sip_count_message(stats, msg: SipMessage, limit)");
        return NULL;
    }
    long long limit = PyLong_AsLongLong(args[2]);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    if (mk_count_message(args[0], args[1], limit) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Whether Pipeline._emit has nothing to do for m (1), or must call its note_address_defects
 * and take_new_defects (0): a SipMessage whose From and To were read (checked or built)
 * and whose defects were all taken. */
static int
mk_settled(PyObject *m)
{
    if (Py_TYPE(m) != mk.type)
        return 0;
    PyObject *from = slot_at(m, mk.off[MK_FROM]), *to = slot_at(m, mk.off[MK_TO]);
    if (from == NULL || to == NULL || from == mk.unset || to == mk.unset)
        return 0;
    PyObject *defects = slot_at(m, mk.off[MK_DEFECTS]);
    if (defects == NULL)
        return 0;
    if (defects == Py_None)
        return 1;
    if (!PyList_CheckExact(defects))
        return 0;
    PyObject *taken = slot_at(m, mk.off[MK_TAKEN]);
    if (taken == NULL || !PyLong_CheckExact(taken))
        return 0;
    Py_ssize_t k = PyLong_AsSsize_t(taken);
    if (k == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return k >= PyList_GET_SIZE(defects);
}

/* sip_to_note(messages: list) -> sequence: the messages, in order, that are not settled
 * (mk_settled): those Pipeline._emit must hand to Python; () when none. */
static PyObject *
fast_sip_to_note(PyObject *Py_UNUSED(module), PyObject *messages)
{
    if (!PyList_CheckExact(messages)) {
        PyErr_SetString(PyExc_TypeError, "sip_to_note(messages: list)");
        return NULL;
    }
    if (!mk.ready)
        return Py_NewRef(messages);
    PyObject *out = NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(messages); i++) {
        PyObject *m = PyList_GET_ITEM(messages, i);
        if (mk_settled(m))
            continue;
        if (out == NULL && (out = PyList_New(0)) == NULL)
            return NULL;
        if (PyList_Append(out, m) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out != NULL ? out : PyTuple_New(0);
}

/*
 * What every message of the pipe's connection shares (a new reference): its _hand, made by
 * its _make_hand on the first message, (client, server, transport, stream id, encapsulation,
 * summary, deliver, stats, limit: see TcpConnectionPipeline._make_hand); None when the pipe
 * has no _hand or _make_hand gives None (its _deliver takes every message); NULL on a Python
 * error.
 */
static PyObject *
mk_hand(PyObject *pipe)
{
    PyObject *hand = PyObject_GetAttr(pipe, mk.hand);
    if (hand == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (hand == Py_None) {
        Py_DECREF(hand);
        hand = PyObject_CallMethodNoArgs(pipe, mk.make_hand);
        if (hand == NULL || hand == Py_None) /* None: no hand, _deliver takes them */
            return hand;
    }
    if (!PyTuple_CheckExact(hand) || PyTuple_GET_SIZE(hand) != 10) {
        Py_DECREF(hand);
        PyErr_SetString(PyExc_TypeError, "_make_hand: a tuple of 10");
        return NULL;
    }
    return hand;
}

static PyTypeObject STableType;
static PyObject *st_add_direct(PyObject *table, PyObject *m);

/* What deliver(msg, None) does when the hand names the run's session table and its emit
 * (Pipeline.direct_sessions: deliver is Pipeline._counted_plain, whose only work on a message
 * without a body for the media layer is table.add, then emit of what it finished): the same,
 * C to C, with no Python frame unless sessions were finished. 1 when done, 0 when the hand
 * names none, -1 on a Python error. */
static int
mk_direct(PyObject *direct, PyObject *msg)
{
    if (!PyTuple_CheckExact(direct) || PyTuple_GET_SIZE(direct) != 2 ||
        !PyObject_TypeCheck(PyTuple_GET_ITEM(direct, 0), &STableType))
        return 0;
    PyObject *finished = st_add_direct(PyTuple_GET_ITEM(direct, 0), msg);
    if (finished == NULL)
        return -1;
    if (PyList_GET_SIZE(finished) > 0) {
        PyObject *result = PyObject_CallOneArg(PyTuple_GET_ITEM(direct, 1), finished);
        if (result == NULL) {
            Py_DECREF(finished);
            return -1;
        }
        Py_DECREF(result);
    }
    Py_DECREF(finished);
    return 1;
}

/*
 * Deliver msg (made here) as the pipe's _deliver would: argv as for _deliver (argv[0] the
 * pipe), hand its mk_hand. With stats, the message is counted here (Stats.count_message) and
 * deliver gets (msg, body), body None when it cannot matter to the media layer (or, when the
 * hand names the session table, mk_direct does deliver's work); without, deliver gets msg.
 * 0, or -1 on a Python error.
 */
static int
mk_deliver(PyObject **argv, int n, PyObject *msg, PyObject *hand)
{
    int rc = -1;
    int direction = PyObject_IsTrue(argv[1]);
    if (direction < 0)
        goto done;
    mk_set(msg, MK_FRAME, argv[4]);
    mk_set(msg, MK_FIRST_FRAME, argv[3]);
    mk_set(msg, MK_TIME, argv[5]);
    mk_set(msg, MK_SRC, PyTuple_GET_ITEM(hand, direction ? 1 : 0));
    mk_set(msg, MK_DST, PyTuple_GET_ITEM(hand, direction ? 0 : 1));
    mk_set(msg, MK_TRANSPORT, PyTuple_GET_ITEM(hand, 2));
    mk_set(msg, MK_STREAM_ID, PyTuple_GET_ITEM(hand, 3));
    if (n >= 10) {
        int compressed = PyObject_IsTrue(argv[8]);
        if (compressed < 0)
            goto done;
        if (compressed) {
            mk_set(msg, MK_COMPRESSED, Py_True);
            mk_set(msg, MK_WIRE_SIZE, argv[9]);
        }
    }
    mk_set(msg, MK_ENCAPSULATION, PyTuple_GET_ITEM(hand, 4));
    if (count_add(PyTuple_GET_ITEM(hand, 5), mk.sip_messages, 1) < 0)
        goto done;
    PyObject *deliver = PyTuple_GET_ITEM(hand, 6), *stats = PyTuple_GET_ITEM(hand, 7);
    PyObject *result;
    if (stats == Py_None)
        result = PyObject_CallOneArg(deliver, msg);
    else {
        long long limit = PyLong_AsLongLong(PyTuple_GET_ITEM(hand, 8));
        if (limit == -1 && PyErr_Occurred())
            goto done;
        if (mk_count_message(stats, msg, limit) < 0)
            goto done;
        /* (the index and body offset sip_make gave; _presolve_addr changes neither) */
        PyObject *index = slot_at(msg, mk.off[MK_INDEX]);
        PyObject *ctypes = PyDict_GetItemWithError(index, sip_keys[5]);
        if (ctypes == NULL && PyErr_Occurred())
            goto done;
        const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(argv[2]);
        Py_ssize_t size = PyBytes_GET_SIZE(argv[2]);
        Py_ssize_t bstart = PyLong_AsSsize_t(slot_at(msg, mk.off[MK_BSTART]));
        if (bstart < 0 || bstart > size) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "body offset out of range");
            goto done;
        }
        PyObject *ctype = ctypes != NULL && PyTuple_GET_SIZE(ctypes) > 0
                              ? PyTuple_GET_ITEM(ctypes, 0)
                              : NULL;
        PyObject *body = mk_body_matters(ctype, d + bstart, size - bstart)
                             ? PyBytes_FromStringAndSize((const char *)d + bstart,
                                                         size - bstart)
                             : Py_NewRef(Py_None);
        if (body == NULL)
            goto done;
        int direct = body == Py_None ? mk_direct(PyTuple_GET_ITEM(hand, 9), msg) : 0;
        if (direct != 0) {
            Py_DECREF(body);
            if (direct < 0)
                goto done;
            rc = 0;
            goto done;
        }
        PyObject *dargs[2] = {msg, body};
        result = PyObject_Vectorcall(deliver, dargs, 2, NULL);
        Py_DECREF(body);
    }
    if (result == NULL)
        goto done;
    Py_DECREF(result);
    rc = 0;
done:
    return rc;
}

/*
 * One framed message to the pipe's _deliver: argv[0] the pipe, argv[1..n-1] its arguments
 * (new references, released here; NULL where one could not be made, with the exception
 * set), made and delivered here when it is the clean case (sip_make) and the pipe takes such
 * messages (mk_hand), else parsed by _deliver. 0, or -1 on a Python error.
 */
static int
mk_call_deliver(PyObject **argv, int n)
{
    int made = 1;
    for (int k = 1; k < n; k++)
        made = made && argv[k] != NULL;
    PyObject *result = NULL;
    if (made) {
        PyObject *hand = mk.ready ? mk_hand(argv[0]) : Py_NewRef(Py_None);
        PyObject *msg = hand == NULL      ? NULL
                        : hand == Py_None ? Py_NewRef(Py_None)
                                          : sip_make(argv[2], argv[6], argv[7]);
        if (msg == Py_None) {
            Py_DECREF(msg);
            result = PyObject_VectorcallMethod(str_deliver, argv,
                                               (size_t)n | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        }
        else if (msg != NULL) {
            result = mk_deliver(argv, n, msg, hand) < 0 ? NULL : Py_NewRef(Py_None);
            Py_DECREF(msg);
        }
        Py_XDECREF(hand);
    }
    for (int k = 1; k < n; k++)
        Py_XDECREF(argv[k]);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return 0;
}

/* pipe.<name>(direction, bytes(d[0:n]), frame, ts) for the flow f: a new reference, or NULL
   on a Python error. The table must not change meanwhile (busy). */
static PyObject *
sip_call_pipe(FastPath *fp, SipFlow *f, PyObject *name, const unsigned char *d, Py_ssize_t n,
              long long frame, double ts)
{
    PyObject *argv[5];
    argv[0] = f->pipe;
    argv[1] = PyLong_FromLong(f->direction);
    argv[2] = PyBytes_FromStringAndSize((const char *)d, n);
    argv[3] = PyLong_FromLongLong(frame);
    argv[4] = PyFloat_FromDouble(ts);
    PyObject *result = NULL;
    if (argv[1] != NULL && argv[2] != NULL && argv[3] != NULL && argv[4] != NULL) {
        fp->sip_busy++;
        result = PyObject_VectorcallMethod(name, argv, 5 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        fp->sip_busy--;
    }
    for (int k = 1; k < 5; k++)
        Py_XDECREF(argv[k]);
    return result;
}

/* mk_call_deliver for a message framed by the scan (the table busy meanwhile): counted
   either way. 0, or -1 on a Python error. */
static int
sip_call_deliver(FastPath *fp, PyObject **argv, int n)
{
    fp->sip_messages++;
    fp->sip_busy++;
    int rc = mk_call_deliver(argv, n);
    fp->sip_busy--;
    return rc;
}

/* sip_deliver_chunk(pipe, direction, data, frame, ts, max_message) -> consumed: see the
   module's method table. */
static PyObject *
fast_sip_deliver_chunk(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyBytes_Check(args[2]) || !PyLong_Check(args[1]) ||
        !PyLong_Check(args[3]) || !PyFloat_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "sip_deliver_chunk(pipe, direction: int, data: bytes, "
                                         "frame: int, ts: float, max_message: int)");
        return NULL;
    }
    Py_ssize_t max_message = PyLong_AsSsize_t(args[5]);
    if (max_message == -1 && PyErr_Occurred())
        return NULL;
    PyObject *data = args[2];
    Py_INCREF(data); /* (held while the messages are delivered) */
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), pos = 0;
    for (;;) {
        Py_ssize_t size, header_end;
        long long length;
        if (sip_next_message(d, &pos, n, max_message, &size, &header_end, &length) <= 0)
            break;
        PyObject *argv[8];
        argv[0] = args[0];
        argv[1] = Py_NewRef(args[1]);
        argv[2] = size == n ? Py_NewRef(data)
                            : PyBytes_FromStringAndSize((const char *)d + pos, size);
        argv[3] = Py_NewRef(args[3]);
        argv[4] = Py_NewRef(args[3]);
        argv[5] = Py_NewRef(args[4]);
        argv[6] = PyLong_FromSsize_t(header_end);
        argv[7] = PyLong_FromLongLong(length);
        pos += size;
        if (mk_call_deliver(argv, 8) < 0) {
            Py_DECREF(data);
            return NULL;
        }
    }
    Py_DECREF(data);
    return PyLong_FromSsize_t(pos);
}

/* sip_negotiate_deliver(pipe, direction, data, frame, ts, max_message)
     -> (msg, call_id, cseq_number, offers) | False | None: see the module's method table.
   sip_negotiate_chunk's reading, then the message made and delivered as sip_deliver_chunk
   delivers a clean one (mk_deliver), so that an MS-SIPCOMP connection's NEGOTIATE and its
   answer no longer go through Python's parse and delivery; the message comes back for the
   tracker (its method or status). False: the shape is one, but the message is not made here
   (nothing delivered: Python parses it, as before). */
static PyObject *
fast_sip_negotiate_deliver(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyBytes_CheckExact(args[2]) || !PyLong_Check(args[1]) ||
        !PyLong_Check(args[3]) || !PyFloat_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "sip_negotiate_deliver(pipe, direction: int, "
                                         "data: bytes, frame: int, ts: float, max_message: int)");
        return NULL;
    }
    PyObject *cargs[2] = {args[2], args[5]};
    PyObject *found = fast_sip_negotiate_chunk(NULL, cargs, 2);
    if (found == NULL || found == Py_None)
        return found;
    PyObject *he = PyTuple_GET_ITEM(found, 0), *cl = PyTuple_GET_ITEM(found, 1);
    PyObject *hand = mk.ready ? mk_hand(args[0]) : Py_NewRef(Py_None);
    PyObject *msg = hand == NULL      ? NULL
                    : hand == Py_None ? Py_NewRef(Py_None)
                                      : sip_make(args[2], he, cl);
    PyObject *result = NULL;
    if (msg == Py_None)
        result = Py_NewRef(Py_False);
    else if (msg != NULL) {
        PyObject *argv[8] = {args[0], args[1], args[2], args[3], args[3], args[4], he, cl};
        if (mk_deliver(argv, 8, msg, hand) == 0)
            result = PyTuple_Pack(4, msg, PyTuple_GET_ITEM(found, 2), PyTuple_GET_ITEM(found, 3),
                                  PyTuple_GET_ITEM(found, 4));
    }
    Py_XDECREF(msg);
    Py_XDECREF(hand);
    Py_DECREF(found);
    return result;
}

/*
 * Frame the SIP messages of src (a direction read as READ_SIP) and hand each to the pipe's
 * _deliver; *pos: how far they reach. Returns 1 to read on, 0 when the direction must go
 * back to Python from *pos (see sip_next_message), -1 on a Python error.
 */
static int
sip_scan(FastPath *fp, SipFlow *f, const SipSource *src, Py_ssize_t *pos_out)
{
    const unsigned char *d = src->d;
    Py_ssize_t pos = 0;
    int status = 1;
    for (;;) {
        Py_ssize_t size, header_end;
        long long length;
        int found = sip_next_message(d, &pos, src->n, f->max_message, &size, &header_end,
                                     &length);
        if (found <= 0) {
            status = found < 0 ? 0 : 1;
            break;
        }
        long long first_frame, last_frame;
        double first_ts, last_ts;
        sip_source_at(src, pos, &first_frame, &first_ts);
        sip_source_at(src, pos + size - 1, &last_frame, &last_ts);
        PyObject *argv[8];
        argv[0] = f->pipe;
        argv[1] = PyLong_FromLong(f->direction);
        argv[2] = PyBytes_FromStringAndSize((const char *)d + pos, size);
        argv[3] = PyLong_FromLongLong(first_frame);
        argv[4] = PyLong_FromLongLong(last_frame);
        argv[5] = PyFloat_FromDouble(last_ts);
        argv[6] = PyLong_FromSsize_t(header_end);
        argv[7] = PyLong_FromLongLong(length);
        pos += size;
        if (sip_call_deliver(fp, argv, 8) < 0)
            return -1;
    }
    *pos_out = pos;
    return status;
}

/*
 * TLS records opened here (READ_TLS with a TlsCache). The Python session is the authority;
 * state goes each way in one place:
 *   - Python to C: _tls_record returns TlsSession.routine_hand's tuple after a record that
 *     leaves the direction routine (tls_adopt). Before each record the cache checks the
 *     session's own lists (tls_routine): the direction still reads under that state, no key
 *     is awaited, no bytes lost, not given up, no plaintext queued.
 *   - C to Python: tls_sync calls the pipe's _tls_sync with what was opened here (counts,
 *     next sequence number, last frame). It runs before Python code may read the session:
 *     before a record that is not routine goes to _tls_record (that direction's cache is
 *     dropped: _tls_record hands a new one), before a raw segment goes to _raw_data, and on
 *     every reclaim (hand-back, release, release all), for both directions of the connection.
 * A routine record (application data whose AEAD tag checks and, in TLS 1.3, whose inner type
 * is application data, with plaintext) is opened here and its plaintext goes to the pipe's
 * _tls_plain; anything else goes to _tls_record after the sync, which opens it again.
 */
#define TLS_13 1       /* nonce: IV XOR sequence; AAD: the record header; inner type */
#define TLS_XOR 2      /* TLS 1.2 ChaCha20-Poly1305: nonce IV XOR sequence (RFC 7905) */
#define TLS_EXPLICIT 3 /* TLS 1.2 GCM/CCM: nonce salt + the fragment's first 8 bytes */
#define TLS_STATE 0
#define TLS_DECRYPT 1
#define TLS_READ 2
#define TLS_LOST 3
#define TLS_DEAD 4
#define TLS_PLAINTEXT 5
#define TLS_WAITING 6
#define TLS_INNER 7

/*
 * Routine records opened with libcrypto's EVP AEAD interface directly (docs/performance.md
 * "TLS records opened with EVP"): the bound decrypt of the cryptography package costs about
 * three times the AES-GCM it runs (argument handling, a new cipher context per call, the
 * bytes made). No build dependency: the functions are looked up once, at the first routine
 * hand with a key, in the libcrypto the interpreter already loaded (hashlib's _hashlib links
 * it), with our own prototypes of these few functions, stable since OpenSSL 1.1.0. When any
 * is missing, or LYNCDUMP_TLS_EVP=0, every cache calls decrypt as before. A cache holds one
 * context initialised with the key at tls_adopt; each record sets only the nonce.
 */
#define TLS_EVP_CTRL_AEAD_SET_TAG 0x11 /* EVP_CTRL_AEAD_SET_TAG (= EVP_CTRL_GCM_SET_TAG) */
#define TLS_TAG 16
static struct {
    int tried, ready;
    void *(*ctx_new)(void);
    void (*ctx_free)(void *ctx);
    int (*init)(void *ctx, const void *cipher, void *engine, const unsigned char *key,
                const unsigned char *iv);
    int (*update)(void *ctx, unsigned char *out, int *outl, const unsigned char *in, int inl);
    int (*final)(void *ctx, unsigned char *out, int *outl);
    int (*ctrl)(void *ctx, int type, int arg, void *ptr);
    void (*clear_error)(void);
    const void *(*ciphers[3])(void); /* aes-128-gcm, aes-256-gcm, chacha20-poly1305 */
    long long opened;               /* records opened (tls_evp_stats, for the tests) */
    long long live;                 /* contexts alive (TLS_EVP_MAX_LIVE) */
} tls_evp;

/* Contexts alive at once, at most (about 1.2 KiB each: 19 MiB); a read state made past it
   is opened with decrypt. */
#define TLS_EVP_MAX_LIVE 16384

static const char *const tls_evp_names[3] = {"aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"};
static const int tls_evp_key_sizes[3] = {16, 32, 32};

/* Look the EVP functions up, once: 1 when all are there. */
static int
tls_evp_load(void)
{
    if (tls_evp.tried)
        return tls_evp.ready;
    tls_evp.tried = 1;
#ifdef HAVE_DLOPEN
    /* (hashlib has it loaded by the time a TLS key is derived; made sure of here) */
    PyObject *hashlib = PyImport_ImportModule("_hashlib");
    if (hashlib == NULL)
        PyErr_Clear();
    Py_XDECREF(hashlib);
    static const char *const libraries[] = {
        "libcrypto.so.3", "libcrypto.so", "libcrypto.3.dylib", "libcrypto.dylib", NULL};
    void *lib = NULL;
    for (int k = 0; lib == NULL && libraries[k] != NULL; k++)
        lib = dlopen(libraries[k], RTLD_NOLOAD | RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        (void)dlerror();
        return 0;
    }
    /* (the handle is kept: the interpreter keeps the library loaded anyway) */
    unsigned long (*version)(void) = NULL;
    static const char *const cipher_symbols[3] = {"EVP_aes_128_gcm", "EVP_aes_256_gcm",
                                                  "EVP_chacha20_poly1305"};
#define TLS_EVP_SYM(field, name) (*(void **)(&(field)) = dlsym(lib, name))
    TLS_EVP_SYM(version, "OpenSSL_version_num");
    TLS_EVP_SYM(tls_evp.ctx_new, "EVP_CIPHER_CTX_new");
    TLS_EVP_SYM(tls_evp.ctx_free, "EVP_CIPHER_CTX_free");
    TLS_EVP_SYM(tls_evp.init, "EVP_DecryptInit_ex");
    TLS_EVP_SYM(tls_evp.update, "EVP_DecryptUpdate");
    TLS_EVP_SYM(tls_evp.final, "EVP_DecryptFinal_ex");
    TLS_EVP_SYM(tls_evp.ctrl, "EVP_CIPHER_CTX_ctrl");
    TLS_EVP_SYM(tls_evp.clear_error, "ERR_clear_error");
    for (int k = 0; k < 3; k++)
        TLS_EVP_SYM(tls_evp.ciphers[k], cipher_symbols[k]);
#undef TLS_EVP_SYM
    (void)dlerror();
    if (version == NULL || version() < 0x10100000UL || tls_evp.ctx_new == NULL ||
        tls_evp.ctx_free == NULL || tls_evp.init == NULL || tls_evp.update == NULL ||
        tls_evp.final == NULL || tls_evp.ctrl == NULL || tls_evp.clear_error == NULL)
        return 0;
    tls_evp.ready = 1;
#endif
    return tls_evp.ready;
}

#define TLS_EVP_CAPSULE "lyncdump._fastpath.evp"
static PyObject *str_evp; /* "_evp", made at the first use */

static void
tls_evp_capsule_free(PyObject *capsule)
{
    void *ctx = PyCapsule_GetPointer(capsule, TLS_EVP_CAPSULE);
    if (ctx != NULL) {
        tls_evp.ctx_free(ctx); /* (OpenSSL wipes the key schedule) */
        tls_evp.live--;
    }
    else
        PyErr_Clear();
}

/* A cipher context under the key of the hand's state for the AEAD it names (hand[10],
   hand[11]), made once per read state and kept in a capsule on it (its _evp slot, which the
   cache keeps a reference to as well, in *capsule_out), or NULL (no key or name, an AEAD this
   file does not know, EVP unavailable or switched off): the cache then calls decrypt. -1 on
   a Python error, else 0. */
static int
tls_evp_context(PyObject *state, PyObject *key, PyObject *name, void **ctx_out,
                PyObject **capsule_out)
{
    *ctx_out = NULL;
    *capsule_out = NULL;
    if (!PyBytes_Check(key) || !PyUnicode_Check(name))
        return 0;
    const char *off = getenv("LYNCDUMP_TLS_EVP");
    if (off != NULL && strcmp(off, "0") == 0)
        return 0;
    if (str_evp == NULL && (str_evp = PyUnicode_InternFromString("_evp")) == NULL)
        return -1;
    PyObject *capsule = PyObject_GetAttr(state, str_evp);
    if (capsule == NULL) { /* (a state of another shape) */
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    if (PyCapsule_IsValid(capsule, TLS_EVP_CAPSULE)) {
        *ctx_out = PyCapsule_GetPointer(capsule, TLS_EVP_CAPSULE);
        *capsule_out = capsule;
        return 0;
    }
    Py_DECREF(capsule);
    int which = -1;
    for (int k = 0; k < 3 && which < 0; k++)
        if (PyUnicode_CompareWithASCIIString(name, tls_evp_names[k]) == 0)
            which = k;
    if (which < 0 || PyBytes_GET_SIZE(key) != tls_evp_key_sizes[which] || !tls_evp_load() ||
        tls_evp.ciphers[which] == NULL || tls_evp.live >= TLS_EVP_MAX_LIVE)
        return 0;
    const void *cipher = tls_evp.ciphers[which]();
    void *ctx = cipher == NULL ? NULL : tls_evp.ctx_new();
    if (ctx == NULL)
        return 0;
    if (tls_evp.init(ctx, cipher, NULL, (const unsigned char *)PyBytes_AS_STRING(key), NULL) !=
        1) {
        tls_evp.ctx_free(ctx);
        tls_evp.clear_error();
        return 0;
    }
    capsule = PyCapsule_New(ctx, TLS_EVP_CAPSULE, tls_evp_capsule_free);
    if (capsule == NULL) {
        tls_evp.ctx_free(ctx);
        return -1;
    }
    tls_evp.live++;
    if (PyObject_SetAttr(state, str_evp, capsule) < 0) {
        Py_DECREF(capsule); /* (frees the context) */
        return -1;
    }
    *ctx_out = ctx;
    *capsule_out = capsule;
    return 0;
}

/* Open body[0:blen] (ciphertext and tag) with the cache's context under the nonce and the AAD
   into out (room for blen - 16 bytes): the plaintext's size, or -1 when it does not open
   (the tag fails, or libcrypto says no: Python opens the record again). */
static Py_ssize_t
tls_evp_open(void *ctx, const unsigned char *nonce, const unsigned char *aad, int aadlen,
             const unsigned char *body, Py_ssize_t blen, unsigned char *out)
{
    Py_ssize_t size = blen - TLS_TAG;
    if (size < 0 || blen > INT_MAX)
        return -1;
    unsigned char tag[TLS_TAG];
    memcpy(tag, body + size, TLS_TAG);
    int n = 0, last = 0;
    int ok = tls_evp.init(ctx, NULL, NULL, NULL, nonce) == 1 &&
             tls_evp.update(ctx, NULL, &n, aad, aadlen) == 1;
    n = 0;
    if (ok && size > 0)
        ok = tls_evp.update(ctx, out, &n, body, (int)size) == 1;
    /* (GCM and ChaCha20-Poly1305 are stream modes: everything comes out of the update) */
    ok = ok && n == size && tls_evp.ctrl(ctx, TLS_EVP_CTRL_AEAD_SET_TAG, TLS_TAG, tag) == 1 &&
         tls_evp.final(ctx, out + n, &last) == 1 && last == 0;
    if (ok)
        return size;
    tls_evp.clear_error();
    return -1;
}

/* tls_evp_decrypt(state, key, name, nonce, data, aad): the records a TLS session opens in
   Python (handshake records, the first ones under a new key) opened with the state's own EVP
   context (tls_evp_context: the one the fast path opens its routine records with, made here
   if not yet), as the AEAD's decrypt would: the plaintext (data without its 16-byte tag);
   False when the tag fails or data is shorter than the tag; None when there is no such
   context (EVP unavailable or switched off, an AEAD not known here, too many contexts): the
   caller then opens it with the AEAD. The nonce is 12 bytes. */
static PyObject *
fast_tls_evp_decrypt(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "tls_evp_decrypt() takes 6 arguments");
        return NULL;
    }
    PyObject *nonce = args[3], *data = args[4], *aad = args[5];
    if (!PyBytes_Check(nonce) || PyBytes_GET_SIZE(nonce) != 12 || !PyBytes_Check(data) ||
        !PyBytes_Check(aad) || PyBytes_GET_SIZE(aad) > INT_MAX) {
        PyErr_SetString(PyExc_TypeError,
                        "tls_evp_decrypt(): a 12-byte nonce, data and aad as bytes");
        return NULL;
    }
    void *ctx = NULL;
    PyObject *capsule = NULL;
    if (tls_evp_context(args[0], args[1], args[2], &ctx, &capsule) < 0)
        return NULL;
    if (ctx == NULL)
        Py_RETURN_NONE;
    Py_ssize_t blen = PyBytes_GET_SIZE(data);
    if (blen < TLS_TAG || blen > INT_MAX) {
        Py_DECREF(capsule);
        Py_RETURN_FALSE;
    }
    PyObject *plain = PyBytes_FromStringAndSize(NULL, blen - TLS_TAG);
    if (plain == NULL) {
        Py_DECREF(capsule);
        return NULL;
    }
    /* (the capsule, held until here, keeps the context alive while it is used) */
    Py_ssize_t got = tls_evp_open(
        ctx, (const unsigned char *)PyBytes_AS_STRING(nonce),
        (const unsigned char *)PyBytes_AS_STRING(aad), (int)PyBytes_GET_SIZE(aad),
        (const unsigned char *)PyBytes_AS_STRING(data), blen,
        (unsigned char *)PyBytes_AS_STRING(plain));
    Py_DECREF(capsule);
    if (got < 0) {
        Py_DECREF(plain);
        Py_RETURN_FALSE;
    }
    return plain;
}

/* tls_evp_stats(): (whether libcrypto's EVP functions were found, the records opened with
   them so far, the contexts alive), for the tests. */
static PyObject *
fast_tls_evp_stats(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return Py_BuildValue("(OLL)", tls_evp_load() ? Py_True : Py_False, tls_evp.opened,
                         tls_evp.live);
}

/* Open the flow's routine records from now on with _tls_record's hand (state, decrypt, iv,
   seq, flavour, read, lost, dead, plaintext, waiting, key, name). 1 when taken, 0 when not
   that shape, -1 when memory runs out. */
static int
tls_adopt(FastPath *fp, SipFlow *f, PyObject *hand)
{
    if (f->tc != NULL || !PyTuple_Check(hand) || PyTuple_GET_SIZE(hand) != 12)
        return 0;
    PyObject *iv = PyTuple_GET_ITEM(hand, 2), *seq_obj = PyTuple_GET_ITEM(hand, 3);
    PyObject *flavour_obj = PyTuple_GET_ITEM(hand, 4);
    if (!PyCallable_Check(PyTuple_GET_ITEM(hand, 1)) || !PyBytes_Check(iv) ||
        !PyLong_Check(seq_obj) || !PyLong_Check(flavour_obj))
        return 0;
    for (int k = 5; k < 9; k++)
        if (!PyList_CheckExact(PyTuple_GET_ITEM(hand, k)))
            return 0;
    for (int k = 5; k < 8; k++)
        if (PyList_GET_SIZE(PyTuple_GET_ITEM(hand, k)) != 2)
            return 0;
    long flavour = PyLong_AsLong(flavour_obj);
    unsigned long long seq = PyLong_AsUnsignedLongLong(seq_obj);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t ivlen = PyBytes_GET_SIZE(iv);
    if (flavour < TLS_13 || flavour > TLS_EXPLICIT ||
        ivlen != (flavour == TLS_EXPLICIT ? 4 : 12) || seq == UINT64_MAX)
        return 0;
    TlsCache *tc = PyMem_Calloc(1, sizeof(TlsCache));
    if (tc == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    tc->refs[TLS_STATE] = Py_NewRef(PyTuple_GET_ITEM(hand, 0));
    tc->refs[TLS_DECRYPT] = Py_NewRef(PyTuple_GET_ITEM(hand, 1));
    for (int k = TLS_READ; k <= TLS_WAITING; k++)
        tc->refs[k] = Py_NewRef(PyTuple_GET_ITEM(hand, k + 3));
    memcpy(tc->iv, PyBytes_AS_STRING(iv), (size_t)ivlen);
    tc->flavour = (int)flavour;
    tc->seq = (uint64_t)seq;
    if (tls_evp_context(tc->refs[TLS_STATE], PyTuple_GET_ITEM(hand, 10),
                        PyTuple_GET_ITEM(hand, 11), &tc->evp, &tc->evp_capsule) < 0) {
        tls_free(tc);
        return -1;
    }
    f->tc = tc;
    fp->tls_cached++;
    return 1;
}

/* Whether the session would still take the flow's next application data record the routine
   way under the cached state (TlsSession.receive_record's test, on the session's lists). */
static inline int
tls_routine(const TlsCache *tc, int direction)
{
    PyObject *read = tc->refs[TLS_READ], *waiting = tc->refs[TLS_WAITING];
    PyObject *lost = tc->refs[TLS_LOST], *dead = tc->refs[TLS_DEAD];
    if (PyList_GET_SIZE(read) != 2 || PyList_GET_SIZE(lost) != 2 || PyList_GET_SIZE(dead) != 2)
        return 0;
    return PyList_GET_ITEM(read, direction) == tc->refs[TLS_STATE] &&
           PyList_GET_ITEM(read, 1 - direction) != waiting &&
           PyList_GET_ITEM(lost, direction) == Py_None &&
           PyList_GET_ITEM(dead, direction) == Py_False &&
           PyList_GET_SIZE(tc->refs[TLS_PLAINTEXT]) == 0;
}

/* How tls_sync leaves the cache: kept or dropped. */
#define TLS_SYNC_KEEP 0
#define TLS_SYNC_DROP 1

/* Give the session what the flow's cache opened and not yet counted, and the decrypted
   side's framer what was framed here (pipe._tls_sync); then the cache as `how` says (always
   dropped on an error). 0, or -1 on a Python error. */
static int
tls_sync(FastPath *fp, SipFlow *f, int how)
{
    TlsCache *tc = f->tc;
    if (tc == NULL)
        return 0;
    PyObject *result = Py_None;
    if (tc->records > 0 || tc->skip > 0) {
        fp->sip_busy++;
        result = PyObject_CallMethod(f->pipe, "_tls_sync", "iOLLLKLLL", f->direction,
                                     tc->refs[TLS_STATE], tc->records, tc->bytes, tc->plain,
                                     (unsigned long long)tc->seq, tc->frame, tc->skip,
                                     tc->skip_frame);
        fp->sip_busy--;
        if (result != NULL)
            Py_DECREF(result);
        tc->records = tc->bytes = tc->plain = tc->skip = 0;
    }
    if (how == TLS_SYNC_DROP || result == NULL) {
        f->tc = NULL;
        fp->tls_cached--;
        tls_free(tc);
    }
    return result == NULL ? -1 : 0;
}

/* Before Python reads the session of the flow f: tls_sync for f (its cache dropped) and for
   the other direction of its connection, if owned (TLS_SYNC_KEEP), the one whose last record
   came first synced first (the session's last frame is the later one's). */
static int
tls_sync_pair(FastPath *fp, SipFlow *f)
{
    if (fp->tls_cached == 0)
        return 0;
    FlowKey reverse;
    sip_reverse(&f->key, &reverse);
    Py_ssize_t j = sip_find(fp, &reverse, flow_hash(&reverse));
    SipFlow *r = j < 0 ? NULL : fp->sip[j];
    if (r != NULL && r->tc != NULL && r->tc->records > 0 &&
        (f->tc == NULL || f->tc->records == 0 || r->tc->frame <= f->tc->frame)) {
        /* (frames of the records: the session's _frame ends as the later one's) */
        if (tls_sync(fp, r, TLS_SYNC_KEEP) < 0)
            return -1;
        return tls_sync(fp, f, TLS_SYNC_DROP);
    }
    if (tls_sync(fp, f, TLS_SYNC_DROP) < 0)
        return -1;
    return r == NULL ? 0 : tls_sync(fp, r, TLS_SYNC_KEEP);
}

/*
 * The plaintext of a routine record of the flow f (a bytes object) to the decrypted side:
 * while its framer is at rest (refs[TLS_INNER]), the whole SIP messages at its start framed
 * here as _deliver_whole frames them (sip_frame_chunk's rules, CR/LF after them included)
 * and each handed to the inner pipe's _deliver; what is left, or all of it otherwise, goes to
 * the pipe's _tls_plain with the bytes framed here so far, whose answer says whether the next
 * plaintext may be framed here. 0, or -1 on a Python error.
 */
static int
tls_plain(FastPath *fp, SipFlow *f, PyObject *plain)
{
    TlsCache *tc = f->tc;
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(plain);
    Py_ssize_t n = PyBytes_GET_SIZE(plain), pos = 0;
    PyObject *inner = tc->refs[TLS_INNER];
    if (inner != NULL) {
        /* What _frames_whole said may have changed since only by an MS-SIPCOMP negotiation
           (Python frames any message that names NEGOTIATE): this direction's framer moves
           only here and in its own Python paths, which drop the cache first. */
        PyObject *negotiation = PyObject_GetAttr(inner, str_negotiation);
        if (negotiation == NULL)
            return -1;
        int none = negotiation == Py_None;
        Py_DECREF(negotiation);
        if (!none) {
            Py_CLEAR(tc->refs[TLS_INNER]);
            inner = NULL;
        }
    }
    if (inner != NULL) {
        Py_INCREF(inner); /* (held while its _deliver runs) */
        for (;;) {
            Py_ssize_t size, header_end;
            long long length;
            if (sip_next_message(d, &pos, n, f->max_message, &size, &header_end, &length) <= 0)
                break;
            PyObject *argv[8];
            argv[0] = inner;
            argv[1] = PyLong_FromLong(f->direction);
            argv[2] = size == n ? Py_NewRef(plain)
                                : PyBytes_FromStringAndSize((const char *)d + pos, size);
            argv[3] = PyLong_FromLongLong(f->last_frame);
            argv[4] = PyLong_FromLongLong(f->last_frame);
            argv[5] = PyFloat_FromDouble(f->last_ts);
            argv[6] = PyLong_FromSsize_t(header_end);
            argv[7] = PyLong_FromLongLong(length);
            pos += size;
            if (sip_call_deliver(fp, argv, 8) < 0) {
                Py_DECREF(inner);
                return -1;
            }
        }
        Py_DECREF(inner);
        if (pos > 0) {
            tc->skip += pos;
            tc->skip_frame = f->last_frame;
        }
        if (pos >= n)
            return 0;
    }
    /* The rest to Python's framer. What the other direction framed here goes to its framer
       first: a NEGOTIATE framed by Python may switch that direction to MS-SIPCOMP. */
    SipFlow *r = NULL;
    if (fp->tls_cached > 1) {
        FlowKey reverse;
        sip_reverse(&f->key, &reverse);
        Py_ssize_t j = sip_find(fp, &reverse, flow_hash(&reverse));
        r = j >= 0 && fp->sip[j]->tc != NULL ? fp->sip[j] : NULL;
    }
    if (r != NULL && tls_sync(fp, r, TLS_SYNC_KEEP) < 0)
        return -1;
    PyObject *argv[7];
    argv[0] = f->pipe;
    argv[1] = PyLong_FromLong(f->direction);
    argv[2] = pos > 0 ? PyBytes_FromStringAndSize((const char *)d + pos, n - pos)
                      : Py_NewRef(plain);
    argv[3] = PyLong_FromLongLong(f->last_frame);
    argv[4] = PyFloat_FromDouble(f->last_ts);
    argv[5] = PyLong_FromLongLong(tc->skip);
    argv[6] = PyLong_FromLongLong(tc->skip_frame);
    tc->skip = 0;
    PyObject *result = NULL;
    int made = 1;
    for (int k = 1; k < 7; k++)
        made = made && argv[k] != NULL;
    if (made) {
        fp->sip_busy++;
        result = PyObject_VectorcallMethod(str_tls_plain, argv,
                                           7 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        fp->sip_busy--;
    }
    for (int k = 1; k < 7; k++)
        Py_XDECREF(argv[k]);
    if (result == NULL)
        return -1;
    /* the decrypted side, when its next plaintext may be framed here; None otherwise */
    Py_XSETREF(tc->refs[TLS_INNER], result == Py_None ? NULL : result);
    if (result == Py_None)
        Py_DECREF(result);
    return 0;
}

/*
 * The record's plaintext as tls_open's decrypt branch gives it, opened with the cache's EVP
 * context into a buffer of its own (on the stack, for records up to TLS's limit), then made
 * a bytes object once; the counts and the hand-on are tls_open's. n: the record's size with
 * its header. Same returns as tls_open.
 */
#define TLS_EVP_STACK (16384 + 256) /* the largest TLS 1.2/1.3 AEAD ciphertext, tag included */
static int
tls_open_evp(FastPath *fp, SipFlow *f, Py_ssize_t n, const unsigned char *nonce,
             const unsigned char *aad, int aadlen, const unsigned char *body, Py_ssize_t blen)
{
    TlsCache *tc = f->tc;
    if (blen < TLS_TAG + (tc->flavour == TLS_13 ? 2 : 1))
        return 0; /* (nothing that could be routine: Python says what it is) */
    unsigned char stack[TLS_EVP_STACK];
    unsigned char *out = stack;
    if (blen > TLS_EVP_STACK) {
        out = PyMem_Malloc((size_t)blen);
        if (out == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    Py_ssize_t end = tls_evp_open(tc->evp, nonce, aad, aadlen, body, blen, out);
    if (end > 0 && tc->flavour == TLS_13) {
        while (end > 0 && out[end - 1] == 0)
            end--;
        /* no type, another type, or nothing in it: Python's */
        end = end < 2 || out[end - 1] != 23 ? -1 : end - 1;
    }
    PyObject *plain = end <= 0 ? NULL : PyBytes_FromStringAndSize((const char *)out, end);
    if (out != stack)
        PyMem_Free(out);
    if (end <= 0)
        return 0;
    if (plain == NULL)
        return -1;
    tls_evp.opened++;
    tc->seq++;
    tc->records++;
    tc->bytes += n;
    tc->plain += end;
    tc->frame = f->last_frame;
    int status = tls_plain(fp, f, plain);
    Py_DECREF(plain);
    return status < 0 ? -1 : 1;
}

/*
 * Open the record rec[0:n] (whole, application data) of a flow with a TlsCache as its read
 * state's open() would (tls/decrypt.py _Tls13State, _AeadState) and hand its plaintext to the
 * pipe's _tls_plain with the frame and time of the segment that completed it. 1 when done
 * (counted in the cache), 0 when the record is not routine (nothing counted, no exception
 * set: _tls_record takes it), -1 on a Python error.
 */
static int
tls_open(FastPath *fp, SipFlow *f, const unsigned char *rec, Py_ssize_t n)
{
    TlsCache *tc = f->tc;
    uint64_t seq = tc->seq;
    const unsigned char *body = rec + 5;
    Py_ssize_t blen = n - 5;
    unsigned char nonce[12], aad[13], seqbe[8];
    Py_ssize_t aadlen = 5;
    if (seq == UINT64_MAX || !tls_routine(tc, f->direction))
        return 0;
    for (int k = 0; k < 8; k++)
        seqbe[k] = (unsigned char)(seq >> (56 - 8 * k));
    if (tc->flavour == TLS_EXPLICIT) {
        if (blen < 8)
            return 0;
        memcpy(nonce, tc->iv, 4);
        memcpy(nonce + 4, body, 8);
        body += 8;
        blen -= 8;
    }
    else {
        memcpy(nonce, tc->iv, 12);
        for (int k = 0; k < 8; k++)
            nonce[4 + k] ^= seqbe[k];
    }
    if (tc->flavour == TLS_13)
        memcpy(aad, rec, 5);
    else {
        Py_ssize_t size = blen - 16; /* the tag */
        if (size <= 0) /* shorter than the tag, or empty: Python says what it is */
            return 0;
        memcpy(aad, seqbe, 8);
        memcpy(aad + 8, rec, 3);
        aad[11] = (unsigned char)(size >> 8);
        aad[12] = (unsigned char)size;
        aadlen = 13;
    }
    if (tc->evp != NULL)
        return tls_open_evp(fp, f, n, nonce, aad, (int)aadlen, body, blen);
    PyObject *args[4] = {NULL, NULL, NULL, NULL};
    args[1] = PyBytes_FromStringAndSize((const char *)nonce, 12);
    args[2] = PyBytes_FromStringAndSize((const char *)body, blen);
    args[3] = PyBytes_FromStringAndSize((const char *)aad, aadlen);
    PyObject *opened = NULL;
    if (args[1] != NULL && args[2] != NULL && args[3] != NULL)
        opened = PyObject_Vectorcall(tc->refs[TLS_DECRYPT], args + 1,
                                     3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    int made = args[1] != NULL && args[2] != NULL && args[3] != NULL;
    for (int k = 1; k < 4; k++)
        Py_XDECREF(args[k]);
    if (opened == NULL) {
        /* the state's open() takes any Exception for a bad record (InvalidTag...) */
        if (!made || !PyErr_ExceptionMatches(PyExc_Exception))
            return -1;
        PyErr_Clear();
        return 0;
    }
    if (!PyBytes_Check(opened)) {
        Py_DECREF(opened);
        return 0;
    }
    PyObject *plain = opened;
    if (tc->flavour == TLS_13) {
        const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(opened);
        Py_ssize_t end = PyBytes_GET_SIZE(opened);
        while (end > 0 && p[end - 1] == 0)
            end--;
        if (end < 2 || p[end - 1] != 23) { /* no type, another type, or nothing in it */
            Py_DECREF(opened);
            return 0;
        }
        plain = PyBytes_FromStringAndSize((const char *)p, end - 1);
        Py_DECREF(opened);
        if (plain == NULL)
            return -1;
    }
    tc->seq = seq + 1;
    tc->records++;
    tc->bytes += n;
    tc->plain += PyBytes_GET_SIZE(plain);
    tc->frame = f->last_frame;
    int status = tls_plain(fp, f, plain);
    Py_DECREF(plain);
    return status < 0 ? -1 : 1;
}

/*
 * tls/records.py RecordReader.next_record on src (a direction read as READ_TLS: between
 * records, not resynchronising): each whole record goes to the pipe's _tls_record with the
 * frame and time of the segment that completed it; *pos: how far they reach. Returns 1 to
 * read on, 0 when the direction must go back to Python from *pos (a header that is not TLS,
 * or _tls_record said stop), -1 on a Python error.
 */
static int
tls_scan(FastPath *fp, SipFlow *f, const SipSource *src, Py_ssize_t *pos_out)
{
    const unsigned char *d = src->d;
    Py_ssize_t n = src->n, pos = 0;
    int go_on = 1;
    while (go_on) {
        if (n - pos < 5)
            break;
        if (d[pos] < 20 || d[pos] > 24 || d[pos + 1] != 3)
            go_on = 0; /* Python says why it is not TLS */
        Py_ssize_t length = (Py_ssize_t)d[pos + 3] << 8 | d[pos + 4];
        if (length > TLS_MAX_FRAGMENT)
            go_on = 0;
        if (!go_on || n - pos < 5 + length)
            break;
        if (f->tc != NULL && d[pos] == 23) {
            int opened = tls_open(fp, f, d + pos, 5 + length);
            if (opened < 0)
                return -1;
            if (opened) {
                pos += 5 + length;
                continue;
            }
        }
        /* Not routine: the session counts what was opened here, then reads this record. */
        if (tls_sync_pair(fp, f) < 0)
            return -1;
        PyObject *result = sip_call_pipe(fp, f, str_tls_record, d + pos, 5 + length,
                                         f->last_frame, f->last_ts);
        if (result == NULL)
            return -1;
        go_on = result == Py_True;
        if (PyTuple_Check(result)) { /* routine from here on: open them here */
            go_on = 1;
            if (tls_adopt(fp, f, result) < 0) {
                Py_DECREF(result);
                return -1;
            }
        }
        Py_DECREF(result);
        pos += 5 + length;
    }
    *pos_out = pos;
    return go_on;
}

/*
 * The in-order payload of a segment of the direction in slot i (read as READ_SIP or
 * READ_TLS, the segment already counted as taken), brought in frame at ts: framed from the
 * segment itself when nothing is held, else after what is held; what is left of a message or
 * record is held. The direction may be handed back with what it holds. 0, or -1 on a Python
 * error.
 */
static int
sip_read(FastPath *fp, size_t i, const unsigned char *data, Py_ssize_t len, long long frame,
         double ts)
{
    SipFlow *f = fp->sip[i];
    int direct = f->len == 0;
    if (!direct && sip_hold(fp, f, data, len, frame, ts) < 0)
        return -1;
    SipSource src = {direct ? data : f->buf, direct ? len : f->len, direct ? NULL : f, frame,
                     ts};
    FlowKey key = f->key;
    int sip = f->kind == READ_SIP;
    Py_ssize_t pos = 0;
    int status = sip ? sip_scan(fp, f, &src, &pos) : tls_scan(fp, f, &src, &pos);
    if (status < 0)
        return -1;
    f->framed += pos; /* (the pointer stays valid: nothing is released while busy) */
    if (!direct)
        sip_consume(fp, f, pos);
    else if (pos < len && sip_hold(fp, f, data + pos, len - pos, frame, ts) < 0)
        return -1;
    if (status && f->len <= SIP_HOLD_LIMIT && fp->sip_held <= SIP_HELD_TOTAL)
        return 0;
    /* Anything unusual, or more held than the bounds allow: back to Python with what is
       held. For SIP both directions go (a NEGOTIATE's answer switches the other one). */
    if (sip_reclaim(fp, i) < 0)
        return -1;
    if (sip) {
        FlowKey reverse;
        sip_reverse(&key, &reverse);
        if (sip_reclaim_key(fp, &reverse) < 0)
            return -1;
    }
    return 0;
}

/*
 * MS-SIPCOMP read here (READ_SIPCOMP): sipcomp/stream.py's decoder in sync under the usual
 * header layout (h6-u16be-plain: flags<<4 | type 0, three zero bytes, the uncompressed length
 * big-endian), its history exact, then sip/framing.py on the decompressed bytes. Only the
 * routine is done here: packets flagged COMPRESSED, AT_FRONT|COMPRESSED or FLUSHED, of a
 * length of 1 or more, decoding without fault, that the budget allows, then plain SIP messages
 * as sip_next_message frames them. Anything else (a CR/LF keep-alive between packets, other
 * flags, a bad header or token, a refused budget, a message left unfinished) hands the
 * direction back to Python at a packet boundary, with the packets not framed yet, so Python
 * decodes and reports it exactly as if it had read the direction all along.
 */

/* Plain bytes decoded from one segment beyond which what is decoded is framed and the rest
   handed back (a bound on the scratch, whatever the budget allows). */
#define SIPCOMP_PLAIN_RUN (256 * 1024)
#define SIPCOMP_HEADER 6

/* Copy a run left where it lay (sipcomp_append) into FastPath.plain: before the history is
   written again or another packet joins the run. 0, or -1 when memory runs out. */
static int
sipcomp_own(FastPath *fp)
{
    if (fp->plain_ext == NULL)
        return 0;
    if (fp->plain_len > fp->plain_cap) {
        unsigned char *grown = grow_array(fp->plain, &fp->plain_cap, fp->plain_len, 1, 16384);
        if (grown == NULL)
            return -1;
        fp->plain = grown;
    }
    memcpy(fp->plain, fp->plain_ext, (size_t)fp->plain_len);
    fp->plain_ext = NULL;
    return 0;
}

static int
sipcomp_append(FastPath *fp, const unsigned char *data, Py_ssize_t len, long long wire,
               long long frame, double ts)
{
    /* A run's first packet is framed where it lies, not copied: the common run is one packet
       holding whole messages. Its place stays put until the run is framed: the history is
       written again only by a later packet of the run (sipcomp_own first), the segment (or
       the flow's held buffer) only after framing (sipcomp_read owns the run before the held
       buffer moves when a hand-back will read it). */
    int borrow = fp->npackets == 0;
    if (!borrow && sipcomp_own(fp) < 0)
        return -1;
    if (!borrow && fp->plain_len + len > fp->plain_cap) {
        unsigned char *grown = grow_array(fp->plain, &fp->plain_cap, fp->plain_len + len, 1, 16384);
        if (grown == NULL)
            return -1;
        fp->plain = grown;
    }
    if (fp->npackets == fp->packets_cap) {
        PlainPacket *grown = grow_array(fp->packets, &fp->packets_cap, fp->npackets + 1,
                                        sizeof(PlainPacket), 16);
        if (grown == NULL)
            return -1;
        fp->packets = grown;
    }
    PlainPacket *p = &fp->packets[fp->npackets++];
    p->start = fp->plain_len;
    p->end = fp->plain_len + len;
    p->wire = wire;
    p->frame = frame;
    p->ts = ts;
    if (borrow)
        fp->plain_ext = data;
    else
        memcpy(fp->plain + fp->plain_len, data, (size_t)len);
    fp->plain_len += len;
    return 0;
}

/* sipcomp/budget.py PACKET_CHARGE: the least a decoded packet (not a keep-alive) is charged */
#define SIPCOMP_PACKET_CHARGE 512
/* Counters mirrored only while they stay far from overflow in ratio * (wire + payload); a
   budget past these is left to Python (every packet handed back). */
#define BUDGET_MAX_COUNT ((long long)1 << 40)
#define BUDGET_MAX_RATIO ((long long)1 << 16)

static PyObject *str_b_wire, *str_b_plain, *str_b_allowance, *str_b_ratio, *str_b_refused,
    *str_b_parent, *str_b_sync, *str_pipe_budget, *str_pipe_summary, *str_wire_bytes,
    *str_plain_bytes;

/* Where the budgets' class keeps wire, plain, allowance, ratio and refused (match_slot's
   offsets; -1: read by name), for the type and version tag they were found for. Every mirror
   reads its budget again after each Python draw (thousands of reads in a run of many
   connections), and five attributes read by name cost about 900 instructions. */
static struct {
    PyTypeObject *type; /* a strong reference */
    unsigned int tag;
    Py_ssize_t off[5];
} bslots;

static Py_ssize_t match_slot(PyTypeObject *type, PyObject *name);

/* obj.name, a new reference: from the slot at off when it is set there, else by name. */
static PyObject *
budget_attr(PyObject *obj, PyObject *name, Py_ssize_t off)
{
    if (off >= 0) {
        PyObject *v = *(PyObject **)((char *)obj + off);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(obj, name);
}

/* The offsets of bslots for obj's type (all -1 where they cannot be remembered). */
static const Py_ssize_t *
budget_offsets(PyObject *obj)
{
    static const Py_ssize_t by_name[5] = {-1, -1, -1, -1, -1};
    PyTypeObject *t = Py_TYPE(obj);
    if (bslots.type == t && PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) &&
        t->tp_version_tag != 0 && bslots.tag == t->tp_version_tag)
        return bslots.off;
    if (t->tp_getattro != PyObject_GenericGetAttr)
        return by_name;
    PyObject *names[5] = {str_b_wire, str_b_plain, str_b_allowance, str_b_ratio, str_b_refused};
    Py_ssize_t off[5];
    for (int k = 0; k < 5; k++)
        off[k] = match_slot(t, names[k]); /* (_PyType_Lookup gives the type a version tag) */
    if (!PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) || t->tp_version_tag == 0)
        return by_name;
    Py_XSETREF(bslots.type, (PyTypeObject *)Py_NewRef(t));
    bslots.tag = t->tp_version_tag;
    memcpy(bslots.off, off, sizeof off);
    return bslots.off;
}

/* One int attribute of a budget (its slot at off, or by name) into *out: 1 when read and in
   [0, bound], 0 when it is not such an int, -1 on a Python error. */
static int
budget_int(PyObject *obj, PyObject *name, Py_ssize_t off, long long bound, long long *out)
{
    PyObject *v = budget_attr(obj, name, off);
    if (v == NULL)
        return -1;
    int ok = 0;
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred()) {
            Py_DECREF(v);
            return -1;
        }
        if (!overflow && x >= 0 && x <= bound) {
            *out = x;
            ok = 1;
        }
    }
    Py_DECREF(v);
    return ok;
}

/* Read a mirror's counters from its budget (once per epoch). 0, or -1 on a Python error. */
static int
budget_read(FastPath *fp, BudgetMirror *m)
{
    m->loaded = 1;
    m->epoch = fp->bepoch;
    m->usable = 0;
    if (m->dirty)
        budget_unlist(m);
    if (m->obj == NULL || m->foreign)
        return 0;
    long long v[4];
    PyObject *names[4] = {str_b_wire, str_b_plain, str_b_allowance, str_b_ratio};
    Py_ssize_t off[5]; /* copied: a read by name may run Python code that reads another type */
    memcpy(off, budget_offsets(m->obj), sizeof off);
    for (int k = 0; k < 4; k++) {
        int r = budget_int(m->obj, names[k], off[k], k == 3 ? BUDGET_MAX_RATIO : BUDGET_MAX_COUNT,
                           &v[k]);
        if (r <= 0)
            return r;
    }
    PyObject *refused = budget_attr(m->obj, str_b_refused, off[4]);
    if (refused == NULL)
        return -1;
    int t = PyObject_IsTrue(refused);
    Py_DECREF(refused);
    if (t < 0)
        return -1;
    m->wire = v[0];
    m->plain = v[1];
    m->allowance = v[2];
    m->ratio = v[3];
    m->refused = t;
    m->usable = 1;
    return 0;
}

static Py_ssize_t slot_offset(PyTypeObject *t, PyObject *name);

/* obj.name = value: into the slot when slot_offset knows it (what the member's setter does:
   a budget's counters are __slots__), else by setattr. 0, or -1 on a Python error. */
static int
budget_set(PyObject *obj, PyObject *name, long long value)
{
    PyObject *v = PyLong_FromLongLong(value);
    if (v == NULL)
        return -1;
    Py_ssize_t off = slot_offset(Py_TYPE(obj), name);
    if (off >= 0) {
        PyObject **at = (PyObject **)((char *)obj + off);
        Py_XSETREF(*at, v);
        return 0;
    }
    int rc = PyObject_SetAttr(obj, name, v);
    Py_DECREF(v);
    return rc;
}

/* Write a mirror's counters back to its budget if charged here. 0, or -1 on a Python error. */
static int
budget_write(BudgetMirror *m)
{
    if (!m->dirty)
        return 0;
    budget_unlist(m);
    if (m->obj == NULL)
        return 0;
    if (budget_set(m->obj, str_b_wire, m->wire) < 0 ||
        budget_set(m->obj, str_b_plain, m->plain) < 0)
        return -1;
    return 0;
}

/* Where objects of a type keep an attribute: (type, name) -> the offset of the slot it is
 * (a writable object member found as plain attribute access finds it: the type's getattro
 * and setattro are object's own), or -1. A few entries, each checked against the type's
 * version tag (it changes when the type does). Names are compared by identity (interned
 * constants). */
#define SLOT_CACHE 8
static struct {
    PyTypeObject *type; /* strong references */
    PyObject *name;
    unsigned int tag;
    Py_ssize_t off;
} slot_cache[SLOT_CACHE];
static int slot_cache_next;

static Py_ssize_t
slot_offset(PyTypeObject *t, PyObject *name)
{
    int valid = PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) && t->tp_version_tag != 0;
    for (int i = 0; i < SLOT_CACHE; i++)
        if (slot_cache[i].type == t && slot_cache[i].name == name && valid &&
            slot_cache[i].tag == t->tp_version_tag)
            return slot_cache[i].off;
    Py_ssize_t off = -1;
    if (t->tp_getattro == PyObject_GenericGetAttr && t->tp_setattro == PyObject_GenericSetAttr)
        off = match_slot(t, name); /* (_PyType_Lookup gives the type a version tag) */
    if (!PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) || t->tp_version_tag == 0)
        return off; /* not remembered */
    int k = -1;
    for (int i = 0; i < SLOT_CACHE && k < 0; i++)
        if (slot_cache[i].type == t && slot_cache[i].name == name)
            k = i;
    if (k < 0) {
        k = slot_cache_next;
        slot_cache_next = (slot_cache_next + 1) % SLOT_CACHE;
    }
    Py_XSETREF(slot_cache[k].type, (PyTypeObject *)Py_NewRef(t));
    Py_XSETREF(slot_cache[k].name, Py_NewRef(name));
    slot_cache[k].tag = t->tp_version_tag;
    slot_cache[k].off = off;
    return off;
}

/* obj.name (a new reference), read from its slot when slot_offset knows it; NULL on a Python
   error. */
static PyObject *
slot_get(PyObject *obj, PyObject *name)
{
    Py_ssize_t off = slot_offset(Py_TYPE(obj), name);
    if (off >= 0) {
        PyObject *v = slot_at(obj, off);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(obj, name); /* (an unset slot: its AttributeError) */
}

/* obj.name += delta; an exact int in a slot slot_offset knows is replaced in place (what
   the attribute's setter does), anything else goes through getattr, + and setattr. */
static int
count_add(PyObject *obj, PyObject *name, long long delta)
{
    Py_ssize_t off = slot_offset(Py_TYPE(obj), name);
    if (off >= 0) {
        PyObject **at = (PyObject **)((char *)obj + off);
        if (*at != NULL && PyLong_CheckExact(*at)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(*at, &overflow);
            if (v == -1 && PyErr_Occurred())
                return -1;
            if (!overflow && (delta >= 0 ? v <= LLONG_MAX - delta : v >= LLONG_MIN - delta)) {
                PyObject *sum = PyLong_FromLongLong(v + delta);
                if (sum == NULL)
                    return -1;
                Py_SETREF(*at, sum);
                return 0;
            }
        }
    }
    PyObject *old = PyObject_GetAttr(obj, name);
    if (old == NULL)
        return -1;
    PyObject *d = PyLong_FromLongLong(delta);
    PyObject *sum = d == NULL ? NULL : PyNumber_Add(old, d);
    Py_DECREF(old);
    Py_XDECREF(d);
    if (sum == NULL)
        return -1;
    int rc = PyObject_SetAttr(obj, name, sum);
    Py_DECREF(sum);
    return rc;
}

/* Take a listed state off FastPath.bdirty, wherever it is, in constant time. */
static void
sipcomp_unlist(SipcompState *sc)
{
    *sc->prev_dirty = sc->next_dirty;
    if (sc->next_dirty != NULL)
        sc->next_dirty->prev_dirty = sc->prev_dirty;
    sc->next_dirty = NULL;
    sc->prev_dirty = NULL;
    sc->listed = 0;
}

/* Write back everything charged here: each state's summary counts (summary.wire_bytes and
   plain_bytes of its connection), its connection's budget, the capture's budget. 0, or -1 on
   a Python error. */
static int
sipcomp_flush(FastPath *fp)
{
    int rc = 0;
    while (fp->bdirty != NULL) {
        SipcompState *sc = fp->bdirty;
        sipcomp_unlist(sc);
        if (rc == 0)
            rc = sipcomp_write_sums(sc);
        else
            sc->sum_wire = sc->sum_plain = 0;
        if (rc == 0 && sc->conn != NULL && budget_write(sc->conn) < 0)
            rc = -1;
    }
    if (rc == 0 && budget_write(&fp->broot) < 0)
        rc = -1;
    return rc;
}

/* Write back one state's summary counts (FastPath.bdirty: sc is taken off the list before). */
static int
sipcomp_write_sums(SipcompState *sc)
{
    long long w = sc->sum_wire, p = sc->sum_plain;
    sc->sum_wire = sc->sum_plain = 0;
    if (!(w || p) || sc->pipe == NULL)
        return 0;
    PyObject *summary = PyObject_GetAttr(sc->pipe, str_pipe_summary);
    int rc = summary == NULL || count_add(summary, str_wire_bytes, w) < 0 ||
                     count_add(summary, str_plain_bytes, p) < 0
                 ? -1
                 : 0;
    Py_XDECREF(summary);
    return rc;
}

/* What a flow given back needs written (sip_reclaim_from): for an MS-SIPCOMP flow, its own
   summary counts (the state is freed after) and the budgets it charged, its connection's
   mirror and the capture's. The other states' summary counts wait for their own hand-back:
   they are read only when the run is rendered, after every flow went back, and every budget
   is written before Python reads or charges one (sipcomp_sync writes everything). Another
   kind of flow: everything, as before. 0, or -1 on a Python error. */
static int
sipcomp_flush_back(FastPath *fp, SipcompState *sc)
{
    if (sc == NULL)
        return sipcomp_flush(fp);
    int rc = 0;
    if (sc->listed) {
        sipcomp_unlist(sc);
        rc = sipcomp_write_sums(sc);
    }
    if (rc == 0 && sc->conn != NULL && budget_write(sc->conn) < 0)
        rc = -1;
    if (rc == 0 && budget_write(&fp->broot) < 0)
        rc = -1;
    return rc;
}

/* Let go of a state's connection mirror (freed with its last flow, the capture's mirror with
   its last connection). No Python call but reference counts: the counts were written back. */
static void
sipcomp_detach(SipcompState *sc)
{
    BudgetMirror *m = sc->conn;
    sc->conn = NULL;
    if (m == NULL || --m->users > 0)
        return;
    BudgetMirror *root = m->parent;
    if (root != NULL && --root->users == 0) {
        root->obj = NULL;
        root->loaded = 0;
        if (root->dirty)
            budget_unlist(root);
    }
    if (m->dirty)
        budget_unlist(m);
    bmap_remove(m);
    Py_XDECREF(m->obj);
    PyMem_Free(m->raw);
}

/* sipcomp_detach for a flow given back, after sipcomp_flush: with its last connection the
   capture's budget stops calling sipcomp_sync. 0, or -1 on a Python error. */
static int
sipcomp_release(SipcompState *sc)
{
    BudgetMirror *m = sc->conn;
    int rc = 0;
    if (m != NULL && m->users == 1 && m->parent != NULL && m->parent->users == 1 &&
        m->parent->obj != NULL)
        rc = PyObject_SetAttr(m->parent->obj, str_b_sync, Py_None);
    sipcomp_detach(sc);
    return rc;
}

/* Mirror the budget of flow f's connection (pipe.budget) in f's state: the one of the other
   direction when it is read here too (a connection's budget is drawn by its two directions
   only: the decrypted side of TLS is never read here). The capture's budget (its parent) is
   mirrored once, and told to call sipcomp_sync. 0, or -1 on a Python error. */
static int
sipcomp_attach(FastPath *fp, SipFlow *f)
{
    SipcompState *sc = f->sc;
    sc->pipe = f->pipe;
    PyObject *budget = PyObject_GetAttr(f->pipe, str_pipe_budget);
    if (budget == NULL)
        return -1;
    if (sc->conn != NULL && sc->conn->obj == budget) {
        Py_DECREF(budget);
        return 0;
    }
    if (sc->listed && sipcomp_flush(fp) < 0) {
        Py_DECREF(budget);
        return -1;
    }
    if (sipcomp_release(sc) < 0 || budget == Py_None) {
        int failed = PyErr_Occurred() != NULL;
        Py_DECREF(budget);
        return failed ? -1 : 0; /* no budget: every packet is Python's */
    }
    FlowKey rkey;
    sip_reverse(&f->key, &rkey);
    Py_ssize_t j = fp->sip_used > 1 ? sip_find(fp, &rkey, flow_hash(&rkey)) : -1;
    if (j >= 0 && fp->sip[j]->sc != NULL && fp->sip[j]->sc->conn != NULL &&
        fp->sip[j]->sc->conn->obj == budget) {
        sc->conn = fp->sip[j]->sc->conn;
        sc->conn->users++;
        Py_DECREF(budget);
        return 0;
    }
    PyObject *parent = PyObject_GetAttr(budget, str_b_parent);
    if (parent == NULL) {
        Py_DECREF(budget);
        return -1;
    }
    void *raw = PyMem_Calloc(1, sizeof(BudgetMirror) + 63);
    if (raw == NULL) {
        Py_DECREF(parent);
        Py_DECREF(budget);
        PyErr_NoMemory();
        return -1;
    }
    BudgetMirror *m = (BudgetMirror *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    m->raw = raw;
    m->obj = budget; /* the reference taken above */
    m->users = 1;
    sc->conn = m;
    int rc = 0;
    BudgetMirror *root = &fp->broot;
    if (bmap_add(&fp->bmap, m) < 0) {
        m->foreign = 1; /* not found by sipcomp_sync: never charged here, left to Python */
    }
    else if (parent == Py_None) {
        m->foreign = 1; /* not a connection's budget: left to Python */
    }
    else if (root->obj == NULL) {
        PyObject *sync = PyObject_GetAttrString((PyObject *)fp, "sipcomp_sync");
        rc = sync == NULL ? -1 : PyObject_SetAttr(parent, str_b_sync, sync);
        Py_XDECREF(sync);
        if (rc == 0) {
            root->obj = parent;
            root->loaded = 0;
            root->users = 1;
            m->parent = root;
        }
        else
            m->foreign = 1;
    }
    else if (root->obj == parent) {
        root->users++;
        m->parent = root;
    }
    else
        m->foreign = 1; /* a budget of another capture: left to Python */
    Py_DECREF(parent);
    return rc;
}

/* The budget's draw for one packet (or CR/LF keep-alive) of `payload` compressed bytes
   (`wire` with its header) that rebuilt `plain`, decided on the mirrors and counted there
   and in the state's summary counts: 1 when every scope allows it, 0 when one would refuse
   it or cannot be decided here (nothing charged: the direction goes back and the decoder's
   draw says why), -1 on a Python error. */
static int
sipcomp_charge(FastPath *fp, SipFlow *f, Py_ssize_t payload, Py_ssize_t plain, Py_ssize_t wire,
               int keepalive)
{
    SipcompState *sc = f->sc;
    BudgetMirror *c = sc->conn;
    if (c == NULL)
        return 0;
    if ((!c->loaded || c->epoch != fp->bepoch) && budget_read(fp, c) < 0)
        return -1;
    if (!c->usable)
        return 0;
    BudgetMirror *r = c->parent;
    if (r != NULL) {
        if ((!r->loaded || r->epoch != fp->bepoch) && budget_read(fp, r) < 0)
            return -1;
        if (!r->usable)
            return 0;
    }
    long long charge = !keepalive && plain < SIPCOMP_PACKET_CHARGE ? SIPCOMP_PACKET_CHARGE : plain;
    for (BudgetMirror *m = c; m != NULL; m = m == c ? r : NULL) {
        if (m->refused || m->plain + charge > m->allowance + m->ratio * (m->wire + payload) ||
            m->wire + payload > BUDGET_MAX_COUNT || m->plain + charge > BUDGET_MAX_COUNT)
            return 0;
    }
    for (BudgetMirror *m = c; m != NULL; m = m == c ? r : NULL) {
        m->wire += payload;
        m->plain += charge;
        if (!m->dirty) {
            m->dirty = 1;
            m->next_write = fp->bwrite;
            m->prev_write = &fp->bwrite;
            if (fp->bwrite != NULL)
                fp->bwrite->prev_write = &m->next_write;
            fp->bwrite = m;
        }
    }
    sc->sum_wire += wire;
    sc->sum_plain += plain;
    if (!sc->listed) {
        sc->listed = 1;
        sc->next_dirty = fp->bdirty;
        sc->prev_dirty = &fp->bdirty;
        if (fp->bdirty != NULL)
            fp->bdirty->prev_dirty = &sc->next_dirty;
        fp->bdirty = sc;
    }
    return 1;
}

/* Write back mirror m's charges and have them read again before its next charge (Python is
   about to read or change its budget). 0, or -1 on a Python error. */
static int
budget_hand_over(BudgetMirror *m)
{
    m->loaded = 0;
    return budget_write(m);
}

/* FastPath.sipcomp_sync(budget=None): what DecompressionBudget.sync calls before Python reads
   or charges `budget`. Python reads and changes only that budget and its parents
   (DecompressionBudget.draw, limit, repr): their mirrors alone are written back and marked
   unread (read again before their next charge here). Every other mirror keeps its charges
   and counters, which stay right: its budget is written at its flow's hand-back, at the end
   of input, or when Python asks for it in turn. So a sync costs the chain it is given, not
   the live directions. The states' summary counts stay listed for their hand-back (or the
   next full sipcomp_flush), as sipcomp_flush_back leaves the other states' (nothing reads
   them before the run is rendered, and adding them later gives the same sums). Without an
   argument (or past a chain of 64 parents): every mirror charged since is written
   (FastPath.bwrite) and all are read again. */
#define SYNC_MAX_CHAIN 64
static PyObject *
FastPath_sipcomp_sync(FastPath *fp, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "sipcomp_sync() takes at most one argument");
        return NULL;
    }
    if (nargs == 1 && args[0] != Py_None) {
        PyObject *node = Py_NewRef(args[0]);
        for (int k = 0; k < SYNC_MAX_CHAIN; k++) {
            /* (a budget has one mirror: sipcomp_attach shares it between the directions) */
            BudgetMirror *m = node == fp->broot.obj ? &fp->broot : bmap_find(&fp->bmap, node);
            int rc = m != NULL ? budget_hand_over(m) : 0;
            PyObject *parent = rc < 0 ? NULL : PyObject_GetAttr(node, str_b_parent);
            Py_DECREF(node);
            if (parent == NULL)
                return NULL;
            if (parent == Py_None) {
                Py_DECREF(parent);
                Py_RETURN_NONE;
            }
            node = parent;
        }
        Py_DECREF(node);
    }
    while (fp->bwrite != NULL)
        if (budget_write(fp->bwrite) < 0) /* (takes it off the list) */
            return NULL;
    fp->bepoch++;
    Py_RETURN_NONE;
}

/* stream.py _sip_start(out, None, True) for d[0:n]: a CR/LF, or a start line
   (_START_LINE) within the first 512 bytes. */
static int
sipcomp_sip_start(const unsigned char *d, Py_ssize_t n)
{
    if (n > 512)
        n = 512;
    if (n == 0)
        return 0;
    if (d[0] == '\r' || d[0] == '\n')
        return 1;
    Py_ssize_t i;
    if (n >= 12 && memcmp(d, "SIP/2.0 ", 8) == 0 && d[8] >= '1' && d[8] <= '6' &&
        d[9] >= '0' && d[9] <= '9' && d[10] >= '0' && d[10] <= '9' && d[11] == ' ') {
        for (i = 12; i < n && d[i] != '\r' && d[i] != '\n'; i++)
            ;
        if (i < n && d[i] == '\r')
            i++;
        if (i < n && d[i] == '\n')
            return 1;
    }
    /* [A-Za-z][A-Za-z0-9.!%*_+`'~-]* [^\x00-\x20]+ SIP/2\.0\r?\n */
    if (!((d[0] | 0x20) >= 'a' && (d[0] | 0x20) <= 'z'))
        return 0;
    for (i = 1; i < n && (((d[i] | 0x20) >= 'a' && (d[i] | 0x20) <= 'z') ||
                          (d[i] >= '0' && d[i] <= '9') || strchr(".!%*_+`'~-", d[i]) != NULL) &&
                d[i] != 0;
         i++)
        ;
    if (i >= n || d[i] != ' ')
        return 0;
    Py_ssize_t u = ++i;
    while (i < n && d[i] > 0x20)
        i++;
    if (i == u || n - i < 9 || memcmp(d + i, " SIP/2.0", 8) != 0)
        return 0;
    i += 8;
    if (d[i] == '\r')
        i++;
    return i < n && d[i] == '\n';
}

/* The candidate layouts after the usual one (stream.py LAYOUTS[1:], in order): where the
   length starts, its width, little-endian, and what it counts (0 plain, 1 payload,
   2 packet). */
static const struct {
    signed char at, width, little, counts;
} sipcomp_others[] = {
    {2, 4, 0, 0}, {4, 2, 0, 1}, {2, 4, 0, 1}, {4, 2, 0, 2}, {2, 4, 0, 2}, /* big-endian */
    {4, 2, 1, 0}, {2, 4, 1, 0}, {4, 2, 1, 1}, {2, 4, 1, 1}, {4, 2, 1, 2}, {2, 4, 1, 2},
    {2, 2, 0, 0}, {2, 2, 0, 1}, {2, 2, 0, 2}, {2, 2, 1, 0}, {2, 2, 1, 1}, {2, 2, 1, 2}, /* h4 */
};

/* stream.py _MAX_COMPRESSED_PAYLOAD */
#define SIPCOMP_MAX_COMPRESSED ((8192 * 9 + 7) / 8 + 1)

/*
 * A direction's first packet, as stream.py _calibrate_step would take it, but only where its
 * choice is the routine one: the usual layout holds (flags COMPRESSED or AT_FRONT|COMPRESSED,
 * reserved bytes zero, a length of 1 to 8192 bytes, the payload decodes wholly within src on
 * the empty history, the output starts like SIP, the next header after any CR/LF run is not
 * one _parse_header rejects), and of the later layouts only its 32-bit twin could read the
 * same packet (_agreeing), so the decoder would be in sync under the usual layout, with the
 * history exact. Then the packet is decoded into a new history, charged and queued: 1, *pos
 * past it. 0 (nothing done): Python recognises the layout as before; -1 on a Python error.
 */
static int
sipcomp_first(FastPath *fp, SipFlow *f, const SipSource *src, Py_ssize_t *pos)
{
    const unsigned char *d = src->d;
    Py_ssize_t n = src->n;
    if (n < SIPCOMP_HEADER || (d[0] != 0x20 && d[0] != 0x60) || d[1] | d[2] | d[3])
        return 0;
    Py_ssize_t length = (Py_ssize_t)d[4] << 8 | d[5];
    if (length == 0 || length > 8192)
        return 0;
    PyObject *made = PyByteArray_FromStringAndSize(NULL, 8192);
    if (made == NULL)
        return -1;
    unsigned char *hist = (unsigned char *)PyByteArray_AS_STRING(made);
    memset(hist, 0, 8192);
    Py_ssize_t need = (length * 9 + 40) / 8 + 2, avail = n - SIPCOMP_HEADER;
    Py_ssize_t m = avail < need ? avail : need, at = 0, bit = 0;
    MppcFault fault;
    if (mppc_run_exact(hist, mppc_zeros, &at, length, d + SIPCOMP_HEADER, m, &bit, m * 8, 0,
                       &fault) != 0 ||
        !sipcomp_sip_start(hist, length)) {
        Py_DECREF(made);
        return 0;
    }
    Py_ssize_t end = SIPCOMP_HEADER + ((bit + 7) >> 3), nxt = end;
    while (nxt < n && (d[nxt] == '\r' || d[nxt] == '\n'))
        nxt++;
    int fits = 1; /* _attempt's chain: the next header, when any of it is there */
    if (nxt < n) {
        if (d[nxt] & 0x1F)
            fits = 0;
        for (Py_ssize_t k = nxt + 1; k < nxt + 4 && k < n; k++)
            if (d[k])
                fits = 0;
        if (n - nxt >= SIPCOMP_HEADER && d[nxt] & 0x20 &&
            ((Py_ssize_t)d[nxt + 4] << 8 | d[nxt + 5]) > 8192)
            fits = 0;
    }
    /* _agreeing: which later layouts could read this packet as the usual one did */
    for (size_t k = 0; fits && k < sizeof sipcomp_others / sizeof sipcomp_others[0]; k++) {
        int la = sipcomp_others[k].at, size = la + sipcomp_others[k].width, zero = 1;
        if (n < size)
            continue;
        for (int j = 1; j < la; j++)
            zero &= d[j] == 0;
        if (!zero)
            continue;
        long long value = 0;
        for (int j = 0; j < sipcomp_others[k].width; j++)
            value = sipcomp_others[k].little ? value | (long long)d[la + j] << (8 * j)
                                             : value << 8 | d[la + j];
        int agrees;
        if (sipcomp_others[k].counts == 0)
            agrees = value == length;
        else {
            long long payload = sipcomp_others[k].counts == 1 ? value : value - size;
            agrees = payload >= 0 && payload <= SIPCOMP_MAX_COMPRESSED && size + payload == end;
        }
        /* the 32-bit twin (the first entry) must agree, and no other layout */
        if (agrees != (k == 0))
            fits = 0;
    }
    if (!fits) {
        Py_DECREF(made);
        return 0;
    }
    int allowed = sipcomp_charge(fp, f, end - SIPCOMP_HEADER, length, end, 0);
    if (allowed <= 0) {
        Py_DECREF(made);
        return allowed;
    }
    SipcompState *sc = f->sc;
    int pinned = sipcomp_set_hist(sc, made);
    Py_DECREF(made); /* (the state's reference now) */
    if (pinned < 0)
        return -1;
    hist = sc->hbuf;
    sc->hpos = length;
    sc->fresh = 0;
    sc->made = 1;
    long long frame;
    double ts;
    sip_source_at(src, end - 1, &frame, &ts);
    if (sipcomp_append(fp, hist, length, end, frame, ts) < 0)
        return -1;
    *pos = end;
    return 1;
}

/*
 * Decode the packets of src into FastPath.plain; *pos: the compressed bytes they took.
 * Returns 1 when the rest is a packet still arriving (or nothing), 2 when the plain bound
 * stopped it (frame, then hand back), 0 when the packet at *pos is Python's, -1 on a Python
 * error.
 */
static int
sipcomp_scan(FastPath *fp, SipFlow *f, const SipSource *src, Py_ssize_t *pos_out)
{
    const unsigned char *d = src->d;
    Py_ssize_t n = src->n, pos = 0;
    SipcompState *sc = f->sc;
    if (sc->fresh) {
        int first = sipcomp_first(fp, f, src, &pos);
        if (first <= 0) {
            *pos_out = 0;
            return first;
        }
    }
    unsigned char *hist = sc->hbuf;
    unsigned char saved[8192];
    int status = 1;
    while (pos < n) {
        unsigned int b0 = d[pos];
        if (b0 == '\r' || b0 == '\n') { /* stream.py _keepalive: a CR/LF run between packets */
            Py_ssize_t end = pos;
            while (end < n && (d[end] == '\r' || d[end] == '\n'))
                end++;
            if (end == n && d[end - 1] == '\r')
                break; /* its LF may follow */
            int allowed = sipcomp_charge(fp, f, end - pos, end - pos, end - pos, 1);
            if (allowed <= 0) {
                status = allowed;
                break;
            }
            long long frame;
            double ts;
            sip_source_at(src, end - 1, &frame, &ts);
            if (sipcomp_append(fp, d + pos, end - pos, end - pos, frame, ts) < 0)
                return -1;
            pos = end;
            continue;
        }
        if (b0 != 0x20 && b0 != 0x60 && b0 != 0x80) {
            status = 0; /* other flags or type: Python's */
            break;
        }
        int reserved = 0;
        for (Py_ssize_t k = 1; k < 4 && pos + k < n; k++)
            reserved |= d[pos + k];
        if (reserved) {
            status = 0;
            break;
        }
        if (n - pos < SIPCOMP_HEADER)
            break;
        Py_ssize_t length = (Py_ssize_t)d[pos + 4] << 8 | d[pos + 5];
        Py_ssize_t pstart = pos + SIPCOMP_HEADER, end, start;
        if (length == 0) {
            status = 0;
            break;
        }
        /* a packet from the front (AT_FRONT, FLUSHED) may write over a run left in the
           history; one that follows on writes past it */
        if (b0 != 0x20 && sipcomp_own(fp) < 0)
            return -1;
        if (b0 == 0x80) { /* FLUSHED: raw payload, history reset */
            if (n - pstart < length)
                break;
            end = pstart + length;
            int allowed = sipcomp_charge(fp, f, length, length, end - pos, 0);
            if (allowed <= 0) {
                status = allowed;
                break;
            }
            memset(hist, 0, 8192);
            sc->hpos = 0;
            start = -1;
        } else {
            start = b0 & 0x40 ? 0 : sc->hpos;
            Py_ssize_t limit = start + length;
            if (limit > 8192) {
                status = 0;
                break;
            }
            /* mppc.py decode_some looks no further than this */
            Py_ssize_t need = (length * 9 + 40) / 8 + 2, avail = n - pstart;
            Py_ssize_t m = avail < need ? avail : need, at = start, bit = 0;
            MppcFault fault;
            /* kept for a packet that fails, and the exact read's `orig` (16 bytes more) */
            memcpy(saved, hist + start, (size_t)(8192 - limit < 16 ? 8192 - start : length + 16));
            int why =
                mppc_run_exact(hist, saved, &at, limit, d + pstart, m, &bit, m * 8, 0, &fault);
            if (why != 0) {
                memcpy(hist + start, saved, (size_t)length);
                if (why < 0 || avail >= need)
                    status = 0; /* a fault Python reports */
                break;          /* else: the packet is still arriving */
            }
            end = pstart + ((bit + 7) >> 3);
            int allowed = sipcomp_charge(fp, f, end - pstart, length, end - pos, 0);
            if (allowed <= 0) {
                memcpy(hist + start, saved, (size_t)length);
                status = allowed;
                break;
            }
            sc->hpos = limit;
        }
        long long frame;
        double ts;
        sip_source_at(src, end - 1, &frame, &ts);
        if (sipcomp_append(fp, start < 0 ? d + pstart : hist + start, length, end - pos, frame,
                           ts) < 0)
            return -1;
        pos = end;
        if (fp->plain_len >= SIPCOMP_PLAIN_RUN) {
            status = 2;
            break;
        }
    }
    *pos_out = pos;
    return status;
}

/*
 * Frame the SIP messages of FastPath.plain (sip_next_message, as sip_scan) and hand each to
 * the pipe's _deliver, compressed, with its share of the packets' wire sizes (framing.py
 * _emit); *pos: how far they reach. Returns 1 when all of it was framed, 0 when the rest is
 * Python's, -1 on a Python error.
 */
static int
sipcomp_frame(FastPath *fp, SipFlow *f, Py_ssize_t *pos_out)
{
    Py_ssize_t pos = 0, n = fp->plain_len, first = 0;
    const unsigned char *plain = sipcomp_plain(fp);
    int status = 1;
    for (;;) {
        Py_ssize_t size, header_end;
        long long length;
        int found = sip_next_message(plain, &pos, n, f->max_message, &size, &header_end,
                                     &length);
        if (found <= 0) {
            status = found == 0 && pos == n;
            break;
        }
        Py_ssize_t stop = pos + size;
        while (fp->packets[first].end <= pos)
            first++;
        long long first_frame = fp->packets[first].frame, frame = 0, wire = 0;
        double ts = 0.0;
        for (Py_ssize_t k = first; k < fp->npackets && fp->packets[k].start < stop; k++) {
            const PlainPacket *p = &fp->packets[k];
            long long len = p->end - p->start;
            long long lo = (pos > p->start ? pos : p->start) - p->start;
            long long hi = (stop < p->end ? stop : p->end) - p->start;
            wire += p->wire * hi / len - p->wire * lo / len;
            frame = p->frame;
            ts = p->ts;
        }
        PyObject *argv[10];
        argv[0] = f->pipe;
        argv[1] = PyLong_FromLong(f->direction);
        argv[2] = PyBytes_FromStringAndSize((const char *)plain + pos, size);
        argv[3] = PyLong_FromLongLong(first_frame);
        argv[4] = PyLong_FromLongLong(frame);
        argv[5] = PyFloat_FromDouble(ts);
        argv[6] = PyLong_FromSsize_t(header_end);
        argv[7] = PyLong_FromLongLong(length);
        argv[8] = Py_NewRef(Py_True);
        argv[9] = PyLong_FromLongLong(wire);
        pos = stop;
        if (sip_call_deliver(fp, argv, 10) < 0)
            return -1;
    }
    *pos_out = pos;
    return status;
}

/*
 * A segment of the MS-SIPCOMP direction in slot i (READ_SIPCOMP, already counted as taken):
 * its packets decoded after what is held (a packet still arriving), their messages framed
 * and delivered; anything unusual gives the direction back. 0, or -1 on a Python error.
 */
static int
sipcomp_read(FastPath *fp, size_t i, const unsigned char *data, Py_ssize_t len,
             long long frame, double ts)
{
    SipFlow *f = fp->sip[i];
    const SipcompState *sc = f->sc;
    /* the lines the scan reads first, cold with thousands of live directions: the
       connection's mirror (sipcomp_charge) and the history where the packet writes */
    if (sc->conn != NULL)
        __builtin_prefetch(sc->conn, 1);
    if (sc->hbuf != NULL)
        __builtin_prefetch(sc->hbuf + (sc->hpos & 8191), 1);
    int direct = f->len == 0;
    if (!direct && sip_hold(fp, f, data, len, frame, ts) < 0)
        return -1;
    SipSource src = {direct ? data : f->buf, direct ? len : f->len, direct ? NULL : f, frame,
                     ts};
    Py_ssize_t pos = 0, ppos = 0;
    fp->plain_len = fp->npackets = 0;
    fp->plain_ext = NULL;
    int status = sipcomp_scan(fp, f, &src, &pos);
    /* A run left in the history (plain_ext) needs no reference of its own: the state's
       reference and its export outlive every read of the run. sipcomp_frame calls Python
       (_deliver) with the table busy: sip_release and sip_release_all refuse, sip_own takes
       only a key not in the table, sipcomp_sync touches the mirrors alone, and no other
       call frees a state or sets its history (sipcomp_adopt is for a READ_RAW flow or a
       new one). A hand-back (sip_reclaim_from) copies what it gives of the run before it
       lets the state go, and nothing here reads the run after it. */
    int framed = 0;
    if (status > 0) {
        framed = sipcomp_frame(fp, f, &ppos);
        if (framed < 0)
            status = -1;
    }
    if (status < 0) {
        fp->plain_len = fp->npackets = 0;
        fp->plain_ext = NULL;
        return -1;
    }
    f->sc->consumed += pos;
    /* a run not all framed is handed back from FastPath.plain: not from the held buffer,
       which moves here (and is freed before the hand-back reads) */
    if (!direct && (status != 1 || framed != 1) && sipcomp_own(fp) < 0) {
        fp->plain_len = fp->npackets = 0;
        fp->plain_ext = NULL;
        return -1;
    }
    if (!direct)
        sip_consume(fp, f, pos);
    else if (pos < len && sip_hold(fp, f, data + pos, len - pos, frame, ts) < 0) {
        fp->plain_len = fp->npackets = 0;
        fp->plain_ext = NULL;
        return -1;
    }
    /* the packets whose plain bytes were all framed */
    Py_ssize_t done = 0;
    if (status > 0)
        while (done < fp->npackets && fp->packets[done].end <= ppos)
            done++;
    if (done > 0) {
        f->framed += fp->packets[done - 1].end;
        f->sc->plain_frame = fp->packets[done - 1].frame;
    }
    int rc = 0;
    if (status != 1 || framed != 1 || f->len > SIP_HOLD_LIMIT ||
        fp->sip_held > SIP_HELD_TOTAL) {
        Py_ssize_t skip = done < fp->npackets && status > 0 ? ppos - fp->packets[done].start : 0;
        rc = sip_reclaim_from(fp, i, done, skip);
    }
    fp->plain_len = fp->npackets = 0;
    fp->plain_ext = NULL;
    if (fp->plain_cap > 4 * SIPCOMP_PLAIN_RUN) { /* a big run once: let the scratch go */
        PyMem_Free(fp->plain);
        fp->plain = NULL;
        fp->plain_cap = 0;
    }
    return rc;
}

/* Read a direction as READ_SIPCOMP from now on: its decoder's (history, position), as
   pipeline/connection.py _sipcomp_hand gives them. 1 when taken, 0 when not that shape, -1
   when memory runs out. */
static int
sipcomp_adopt(FastPath *fp, SipFlow *f, PyObject *hand)
{
    if (!PyTuple_Check(hand) || PyTuple_GET_SIZE(hand) != 2)
        return 0;
    PyObject *hist = PyTuple_GET_ITEM(hand, 0);
    Py_ssize_t hpos = PyLong_Check(PyTuple_GET_ITEM(hand, 1))
                          ? PyLong_AsSsize_t(PyTuple_GET_ITEM(hand, 1))
                          : -1;
    if (hpos == -1 && PyErr_Occurred())
        PyErr_Clear();
    int fresh = hist == Py_None; /* before its first packet: sipcomp_first */
    if (fresh ? hpos != 0
              : !PyByteArray_Check(hist) || PyByteArray_GET_SIZE(hist) != 8192 || hpos < 0 ||
                    hpos > 8192)
        return 0;
    if (f->sc == NULL) {
        f->sc = sipcomp_new();
        if (f->sc == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    if (sipcomp_set_hist(f->sc, fresh ? NULL : hist) < 0)
        return -1;
    f->sc->hpos = hpos;
    f->sc->fresh = fresh;
    f->sc->made = 0;
    f->sc->consumed = 0;
    f->framed = 0;
    f->kind = READ_SIPCOMP;
    return sipcomp_attach(fp, f) < 0 ? -1 : 1;
}

/* Whether d[0:n] holds "SIP/2.0": a direction's first bytes that do are SIP to
   pipeline/connection.py _sniff whatever else they hold. */
static int
sip_first_is_sip(const unsigned char *d, Py_ssize_t n)
{
    const unsigned char *p = d, *end = d + n;
    while (end - p >= 7) {
        p = memchr(p, 'S', (size_t)(end - p - 6));
        if (p == NULL)
            return 0;
        if (memcmp(p, "SIP/2.0", 7) == 0)
            return 1;
        p++;
    }
    return 0;
}

static int
sip_tcp_segment(FastPath *fp, FlowKey *key, const unsigned char *seg, Py_ssize_t seglen,
                long long frame, Py_ssize_t n, int64_t ts_num, int64_t ts_den,
                const double *given)
{
    /* net/decode.py _l4 for TCP: a header that Python would report is Python's. The first
       frame of a file is always Python's (it takes the capture's start time from it). */
    if (seglen < 20 || frame <= 1)
        return 0;
    Py_ssize_t doff = (Py_ssize_t)(seg[12] >> 4) << 2;
    if (doff < 20 || doff > seglen)
        return 0;
    unsigned flags = seg[13];
    key->sport = (uint16_t)((unsigned)seg[0] << 8 | seg[1]);
    key->dport = (uint16_t)((unsigned)seg[2] << 8 | seg[3]);
    Py_ssize_t plen = seglen - doff;
    double ts;
    if (plen > 0 || (flags & 0x07)) {
        if ((flags & 0x07) || fp->sip_used == 0)
            return 0;
        uint32_t seq = (uint32_t)seg[4] << 24 | (uint32_t)seg[5] << 16 |
                       (uint32_t)seg[6] << 8 | seg[7];
        Py_ssize_t i = sip_find(fp, key, flow_hash(key));
        if (i < 0 || fp->sip[i]->nxt32 != seq)
            return 0;
        if (fp->sip[i]->kind == READ_SIPCOMP) {
            /* the lines sipcomp_read reads first, cold with thousands of live directions:
               the flow's held length and its state (the key's line is cached by the find) */
            __builtin_prefetch(&fp->sip[i]->len, 1);
            __builtin_prefetch(fp->sip[i]->sc, 1);
        }
        if (!frame_time(ts_num, ts_den, given, &ts))
            return -1;
        SipFlow *f = fp->sip[i];
        if (f->kind == READ_RAW) {
            /* TCP only: the bytes go to the connection's layers as Python's reassembler
               would hand them over */
            f->nxt32 += (uint32_t)plen;
            f->taken += plen;
            f->last_frame = frame;
            f->last_ts = ts;
            if (tls_sync_pair(fp, f) < 0) /* the session is read: the other side's counts */
                return -1;
            /* Python may hand over this direction's reverse meanwhile (sip_own): room is
               made first, so that the table does not grow inside the call (only f is used
               after it, not its slot) */
            if ((fp->sip_used + 1) * 2 > fp->sip_cap && sip_grow(fp) < 0)
                return -1;
            int was_open = fp->raw_open;
            FlowKey was_reverse = fp->raw_reverse;
            fp->raw_open = 1;
            sip_reverse(&f->key, &fp->raw_reverse);
            PyObject *result = sip_call_pipe(fp, f, str_raw_data, seg + doff, plen, frame, ts);
            fp->raw_open = was_open;
            fp->raw_reverse = was_reverse;
            if (result == NULL)
                return -1;
            /* how to read from the next byte on (its framer or record reader is at rest; an
               MS-SIPCOMP decoder in sync gives its history) */
            long kind = READ_RAW;
            if (PyTuple_Check(result)) {
                if (sipcomp_adopt(fp, f, result) < 0) {
                    Py_DECREF(result);
                    return -1;
                }
            }
            else if (PyLong_Check(result))
                kind = PyLong_AsLong(result);
            Py_DECREF(result);
            if (kind == -1 && PyErr_Occurred())
                return -1;
            if (kind == READ_SIP || kind == READ_TLS)
                f->kind = (int)kind;
        }
        else {
            if (f->first) {
                /* The direction's first bytes: pipeline/connection.py _sniff calls them SIP
                   when they hold "SIP/2.0" (framed here, as its framer would), else Python
                   sniffs them (this segment is Python's, the direction given back first) */
                f->first = 0;
                if (!sip_first_is_sip(seg + doff, plen))
                    return sip_reclaim(fp, (size_t)i) < 0 ? -1 : 0;
            }
            if (f->len > 0 &&
                (f->len + plen > SIP_HOLD_LIMIT || fp->sip_held + plen > SIP_HELD_TOTAL))
                /* Python holds big messages: it takes this segment after the bytes held here */
                return sip_reclaim(fp, (size_t)i) < 0 ? -1 : 0;
            f->nxt32 += (uint32_t)plen;
            f->taken += plen;
            f->last_frame = frame;
            f->last_ts = ts;
            if ((f->kind == READ_SIPCOMP ? sipcomp_read : sip_read)(fp, (size_t)i, seg + doff,
                                                                    plen, frame, ts) < 0)
                return -1;
        }
    }
    else if (!frame_time(ts_num, ts_den, given, &ts)) {
        return -1;
    }
    fp->tcp++;
    taken_frame(fp, frame, n, ts, given);
    return 1;
}

/* A FlowKey from Python's (address bytes, port, address bytes, port); 0 when it cannot be one. */
static int
sip_key_from(FlowKey *k, PyObject *const *args)
{
    memset(k, 0, sizeof(FlowKey));
    if (!PyBytes_Check(args[0]) || !PyBytes_Check(args[2]) || !PyLong_Check(args[1]) ||
        !PyLong_Check(args[3]))
        return 0;
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    if (n != PyBytes_GET_SIZE(args[2]) || (n != 4 && n != 16))
        return 0;
    long sport = PyLong_AsLong(args[1]), dport = PyLong_AsLong(args[3]);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (sport < 0 || sport > 65535 || dport < 0 || dport > 65535)
        return 0;
    memcpy(k->src, PyBytes_AS_STRING(args[0]), (size_t)n);
    memcpy(k->dst, PyBytes_AS_STRING(args[2]), (size_t)n);
    k->sport = (uint16_t)sport;
    k->dport = (uint16_t)dport;
    k->family = n == 4 ? 4 : 6;
    return 1;
}

static PyObject *
FastPath_sip_own(FastPath *fp, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9 && nargs != 10) {
        PyErr_SetString(PyExc_TypeError,
                        "sip_own(src, sport, dst, dport, direction, nxt32, max_message, pipe, "
                        "kind[, (history, position)])");
        return NULL;
    }
    long kind = PyLong_AsLong(args[8]);
    if (kind == -1 && PyErr_Occurred())
        return NULL;
    if (kind != READ_SIP && kind != READ_RAW && kind != READ_TLS && kind != READ_FIRST &&
        (kind != READ_SIPCOMP || nargs != 10))
        Py_RETURN_FALSE;
    FlowKey key;
    long direction = PyLong_AsLong(args[4]);
    unsigned long long nxt32 = PyLong_AsUnsignedLongLong(args[5]);
    Py_ssize_t max_message = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred())
        return NULL;
    if (!sip_key_from(&key, args) || nxt32 > 0xFFFFFFFFULL || max_message < 1 ||
        (direction != 0 && direction != 1) || fp->sip_used >= MAX_ENTRIES)
        Py_RETURN_FALSE;
    /* Inside a callback the table must not change, but for the reverse of a direction read
       raw, inside its _raw_data call, when there is room (sip_tcp_segment made it) */
    int grow = (fp->sip_used + 1) * 2 > fp->sip_cap;
    if (fp->sip_busy &&
        (!fp->raw_open || grow || !key_equal(&key, &fp->raw_reverse)))
        Py_RETURN_FALSE;
    uint64_t hash = flow_hash(&key);
    if (sip_find(fp, &key, hash) >= 0)
        Py_RETURN_FALSE;
    if (grow && sip_grow(fp) < 0)
        return NULL;
    size_t mask = fp->sip_cap - 1;
    size_t i = (size_t)hash & mask;
    while (fp->sip[i] != NULL)
        i = (i + 1) & mask;
    SipFlow *f = PyMem_Calloc(1, sizeof(SipFlow));
    if (f == NULL)
        return PyErr_NoMemory();
    fp->sip[i] = f;
    f->key = key;
    f->kind = kind == READ_FIRST ? READ_SIP : (int)kind;
    f->first = kind == READ_FIRST;
    f->direction = (int)direction;
    f->nxt32 = (uint32_t)nxt32;
    f->max_message = max_message;
    f->pipe = Py_NewRef(args[7]);
    fp->sip_used++;
    if (kind == READ_SIPCOMP) {
        int adopted = sipcomp_adopt(fp, f, args[9]);
        if (adopted <= 0) {
            Py_DECREF(f->pipe);
            sipcomp_free(f->sc);
            PyMem_Free(f);
            sip_remove(fp, i);
            if (adopted < 0)
                return NULL;
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

static PyObject *
FastPath_sip_release(FastPath *fp, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "sip_release(src, sport, dst, dport)");
        return NULL;
    }
    if (fp->sip_used == 0)
        Py_RETURN_NONE;
    if (fp->sip_busy) {
        PyErr_SetString(PyExc_RuntimeError, "sip_release() inside a fast-path callback");
        return NULL;
    }
    FlowKey key, reverse;
    if (sip_key_from(&key, args)) {
        sip_reverse(&key, &reverse);
        if (sip_reclaim_key(fp, &key) < 0 || sip_reclaim_key(fp, &reverse) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
FastPath_sip_release_all(FastPath *fp, PyObject *Py_UNUSED(ignored))
{
    if (fp->sip_busy) {
        PyErr_SetString(PyExc_RuntimeError, "sip_release_all() inside a fast-path callback");
        return NULL;
    }
    /* Lowest slot first, as ever, but the search goes on from the last slot given back, not
       from 0 (that made the end of a run with thousands of owned flows quadratic): every slot
       before it is empty, and a removal's backward shift fills only slots from its own on (a
       cluster cannot wrap past an empty slot 0). Should a callback have put a flow behind it,
       the search starts over. */
    size_t i = 0;
    while (fp->sip_used > 0) {
        while (i < fp->sip_cap && fp->sip[i] == NULL)
            i++;
        if (i >= fp->sip_cap) {
            i = 0;
            continue;
        }
        if (sip_reclaim(fp, i) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- Transaction matching: analysis/sessions.py's _match_python, loop and keys in C ----
 *
 * The same reads, in the same order, as the Python: properties whose first read notes a
 * defect (cseq, top_branch, to, note_address_defects) are called as Python does, except
 * where their own code would return a cached slot at once (SipMessage exactly, its _cseq,
 * _to already read; a clean Via list in the parse-time index, sip_top_branch's case).
 * Slots of SipMessage and of the session's Transaction class are read at their offsets;
 * a Transaction is made as its dataclass __init__ makes it, when the class still has the
 * eight fields that __init__ sets (else the class is called). */

enum { MS_METHOD, MS_STATUS, MS_SRC, MS_DST, MS_CSEQ, MS_VIA, MS_INDEX, MS_TO, MS_COUNT };
static const char *const match_msg_names[MS_COUNT] = {
    "method", "status", "src", "dst", "_cseq", "_via", "_index", "_to"};
enum {
    TS_METHOD, TS_CSEQ, TS_BRANCH, TS_REQUEST, TS_RESPONSES, TS_REQ_RT, TS_RESP_RT,
    TS_CANCELLED, TS_COUNT
};
static const char *const match_txn_names[TS_COUNT] = {
    "method", "cseq", "branch", "request", "responses", "request_retransmissions",
    "response_retransmissions", "cancelled"};

static struct {
    int ready; /* the strings below exist */
    PyObject *msg_names[MS_COUNT], *txn_names[TS_COUNT];
    PyObject *cseq, *top_branch, *note, *kw_from, *to, *tag, *encode, *retransmission,
        *retransmissions, *transactions, *invite, *cancel, *cookie, *startswith, *empty,
        *fields, *post_init;
    PyTypeObject *msg_type; /* strong references: the classes the offsets are for */
    Py_ssize_t msg_off[MS_COUNT]; /* -1: read by name */
    PyTypeObject *txn_type;
    Py_ssize_t txn_off[TS_COUNT];
    int txn_fast; /* made at the offsets, with the defaults below */
    PyObject *txn_defaults[TS_COUNT]; /* of request and the counts and flag (strong) */
} mt;

static int
match_strings(void)
{
    if (mt.ready)
        return 0;
    for (int i = 0; i < MS_COUNT; i++)
        if ((mt.msg_names[i] = PyUnicode_InternFromString(match_msg_names[i])) == NULL)
            return -1;
    for (int i = 0; i < TS_COUNT; i++)
        if ((mt.txn_names[i] = PyUnicode_InternFromString(match_txn_names[i])) == NULL)
            return -1;
    if ((mt.cseq = PyUnicode_InternFromString("cseq")) == NULL ||
        (mt.top_branch = PyUnicode_InternFromString("top_branch")) == NULL ||
        (mt.note = PyUnicode_InternFromString("note_address_defects")) == NULL ||
        (mt.to = PyUnicode_InternFromString("to")) == NULL ||
        (mt.tag = PyUnicode_InternFromString("tag")) == NULL ||
        (mt.encode = PyUnicode_InternFromString("encode")) == NULL ||
        (mt.retransmission = PyUnicode_InternFromString("retransmission")) == NULL ||
        (mt.retransmissions = PyUnicode_InternFromString("retransmissions")) == NULL ||
        (mt.transactions = PyUnicode_InternFromString("transactions")) == NULL ||
        (mt.invite = PyUnicode_InternFromString("INVITE")) == NULL ||
        (mt.cancel = PyUnicode_InternFromString("CANCEL")) == NULL ||
        (mt.cookie = PyUnicode_InternFromString("z9hG4bK")) == NULL ||
        (mt.startswith = PyUnicode_InternFromString("startswith")) == NULL ||
        (mt.empty = PyUnicode_InternFromString("")) == NULL ||
        (mt.fields = PyUnicode_InternFromString("__dataclass_fields__")) == NULL ||
        (mt.post_init = PyUnicode_InternFromString("__post_init__")) == NULL)
        return -1;
    PyObject *from = PyUnicode_InternFromString("from_");
    if (from == NULL)
        return -1;
    mt.kw_from = PyTuple_Pack(1, from);
    Py_DECREF(from);
    if (mt.kw_from == NULL)
        return -1;
    mt.ready = 1;
    return 0;
}

/* Offset of a writable object slot the class (or a base) declares, or -1. */
static Py_ssize_t
match_slot(PyTypeObject *type, PyObject *name)
{
    PyObject *d = _PyType_Lookup(type, name);
    if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type))
        return -1;
    PyMemberDef *def = ((PyMemberDescrObject *)d)->d_member;
    if (def->type != T_OBJECT_EX || (def->flags & READONLY) || def->offset <= 0)
        return -1;
    return def->offset;
}

static inline PyObject *
slot_at(PyObject *obj, Py_ssize_t off)
{
    return *(PyObject **)((char *)obj + off);
}

/* Whether Transaction(method, cseq, branch[, request]) can be made at the offsets: its
 * dataclass fields are the eight, no __post_init__, object's __new__, and a made one holds
 * immutable defaults and an empty list (kept as the defaults to copy). 0: call the class. */
static int
match_txn_setup(PyTypeObject *type)
{
    for (int i = 0; i < TS_COUNT; i++) {
        mt.txn_off[i] = match_slot(type, mt.txn_names[i]);
        Py_CLEAR(mt.txn_defaults[i]);
    }
    mt.txn_fast = 0;
    if (type->tp_new != PyBaseObject_Type.tp_new || type->tp_alloc == NULL)
        return 0;
    for (int i = 0; i < TS_COUNT; i++)
        if (mt.txn_off[i] < 0)
            return 0;
    if (_PyType_Lookup(type, mt.post_init) != NULL)
        return 0;
    PyObject *fields = PyObject_GetAttr((PyObject *)type, mt.fields);
    if (fields == NULL) {
        PyErr_Clear();
        return 0;
    }
    int same = PyDict_CheckExact(fields) && PyDict_GET_SIZE(fields) == TS_COUNT;
    Py_ssize_t pos = 0, i = 0;
    PyObject *name, *value;
    while (same && PyDict_Next(fields, &pos, &name, &value)) {
        int eq = PyUnicode_Check(name) ? PyUnicode_Compare(name, mt.txn_names[i]) == 0 : 0;
        if (PyErr_Occurred())
            PyErr_Clear();
        same = eq;
        i++;
    }
    Py_DECREF(fields);
    if (!same)
        return 0;
    PyObject *sample = PyObject_CallFunction((PyObject *)type, "OiO", mt.empty, 0, Py_None);
    if (sample == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (Py_TYPE(sample) != type) {
        Py_DECREF(sample);
        return 0;
    }
    PyObject *request = slot_at(sample, mt.txn_off[TS_REQUEST]);
    PyObject *responses = slot_at(sample, mt.txn_off[TS_RESPONSES]);
    int ok = request == Py_None && responses != NULL && PyList_CheckExact(responses) &&
             PyList_GET_SIZE(responses) == 0;
    static const int kept[] = {TS_REQUEST, TS_REQ_RT, TS_RESP_RT, TS_CANCELLED};
    for (int k = 0; ok && k < 4; k++) {
        PyObject *v = slot_at(sample, mt.txn_off[kept[k]]);
        ok = v != NULL && (v == Py_None || PyLong_CheckExact(v) || PyBool_Check(v));
        if (ok)
            mt.txn_defaults[kept[k]] = Py_NewRef(v);
    }
    Py_DECREF(sample);
    mt.txn_fast = ok;
    return 0;
}

static int
match_setup(PyObject *txn_type, PyObject *msg_type)
{
    if (match_strings() < 0)
        return -1;
    if ((PyTypeObject *)msg_type != mt.msg_type) {
        Py_XSETREF(mt.msg_type, (PyTypeObject *)Py_NewRef(msg_type));
        for (int i = 0; i < MS_COUNT; i++)
            mt.msg_off[i] = match_slot(mt.msg_type, mt.msg_names[i]);
    }
    if ((PyTypeObject *)txn_type != mt.txn_type) {
        Py_XSETREF(mt.txn_type, (PyTypeObject *)Py_NewRef(txn_type));
        if (match_txn_setup(mt.txn_type) < 0)
            return -1;
    }
    return 0;
}

/* A field of obj (new reference): its slot at off when obj is exactly of type (off >= 0) and
   the slot is set, else getattr by name. */
static PyObject *
slot_or_attr(PyObject *obj, PyTypeObject *type, Py_ssize_t off, PyObject *name)
{
    if (Py_TYPE(obj) == type && off >= 0) {
        PyObject *v = slot_at(obj, off);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(obj, name);
}

/* A public field of a message (new reference). */
static PyObject *
match_get(PyObject *m, int k)
{
    return slot_or_attr(m, mt.msg_type, mt.msg_off[k], mt.msg_names[k]);
}

/* A private slot of a SipMessage (borrowed), NULL when m is not one or the slot is empty. */
static inline PyObject *
match_peek(PyObject *m, int k)
{
    if (Py_TYPE(m) != mt.msg_type || mt.msg_off[k] < 0)
        return NULL;
    return slot_at(m, mt.msg_off[k]);
}

/* A field of a transaction (new reference). */
static PyObject *
match_txn_get(PyObject *txn, int k)
{
    return slot_or_attr(txn, mt.txn_type, mt.txn_off[k], mt.txn_names[k]);
}

/* txn.<field> += 1 */
static int
match_txn_count(PyObject *txn, int k)
{
    PyObject *v = PyObject_GetAttr(txn, mt.txn_names[k]);
    if (v == NULL)
        return -1;
    PyObject *one = PyLong_FromLong(1);
    PyObject *sum = one != NULL ? PyNumber_InPlaceAdd(v, one) : NULL;
    Py_DECREF(v);
    Py_XDECREF(one);
    if (sum == NULL)
        return -1;
    int rc = PyObject_SetAttr(txn, mt.txn_names[k], sum);
    Py_DECREF(sum);
    return rc;
}

static PyObject *
match_new_txn(PyObject *method, PyObject *cseq, PyObject *branch, PyObject *request)
{
    PyTypeObject *type = mt.txn_type;
    if (!mt.txn_fast) {
        if (request != NULL)
            return PyObject_CallFunctionObjArgs((PyObject *)type, method, cseq, branch, request,
                                                NULL);
        return PyObject_CallFunctionObjArgs((PyObject *)type, method, cseq, branch, NULL);
    }
    PyObject *responses = PyList_New(0);
    if (responses == NULL)
        return NULL;
    PyObject *txn = type->tp_alloc(type, 0);
    if (txn == NULL) {
        Py_DECREF(responses);
        return NULL;
    }
    PyObject *values[TS_COUNT] = {method, cseq, branch, request, responses};
    for (int i = 0; i < TS_COUNT; i++) {
        PyObject *v = values[i] != NULL ? values[i] : mt.txn_defaults[i];
        *(PyObject **)((char *)txn + mt.txn_off[i]) = Py_NewRef(v);
    }
    Py_DECREF(responses);
    return txn;
}

/* m.cseq: the slot when already read. */
static PyObject *
match_cseq(PyObject *m, PyObject *unset)
{
    PyObject *v = match_peek(m, MS_CSEQ);
    if (v != NULL && v != unset)
        return Py_NewRef(v);
    return PyObject_GetAttr(m, mt.cseq);
}

/* m.top_branch: sip_top_branch on the parse-time index's Via values, as the property does
 * first (its answer when not False), else the property. */
static PyObject *
match_branch(PyObject *m, PyObject *unset)
{
    PyObject *via = match_peek(m, MS_VIA);
    if (via != NULL && via == unset) {
        PyObject *index = match_peek(m, MS_INDEX);
        if (index != NULL && PyDict_CheckExact(index)) {
            PyObject *values = PyDict_GetItemWithError(index, sip_keys[2]);
            if (values == NULL && PyErr_Occurred())
                return NULL;
            if (values != NULL && values != Py_None) {
                PyObject *found = fast_sip_top_branch(NULL, values);
                if (found == NULL || found != Py_False)
                    return found;
                Py_DECREF(found);
            }
        }
    }
    return PyObject_GetAttr(m, mt.top_branch);
}

/* m.note_address_defects(from_=False): nothing to do once _to was read. */
static int
match_note_to(PyObject *m, PyObject *unset)
{
    PyObject *to = match_peek(m, MS_TO);
    if (to != NULL && to != unset)
        return 0;
    PyObject *args[2] = {m, Py_False};
    PyObject *r = PyObject_VectorcallMethod(mt.note, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                            mt.kw_from);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* sessions.py's _to_tag(m): (m.to.tag or "").encode(). */
static PyObject *
match_to_tag(PyObject *m)
{
    PyObject *to = PyObject_GetAttr(m, mt.to);
    if (to == NULL)
        return NULL;
    PyObject *tag;
    if (to == Py_None)
        tag = Py_NewRef(Py_None);
    else
        tag = PyObject_GetAttr(to, mt.tag);
    Py_DECREF(to);
    if (tag == NULL)
        return NULL;
    int truth = PyObject_IsTrue(tag);
    if (truth < 0) {
        Py_DECREF(tag);
        return NULL;
    }
    PyObject *out = PyObject_CallMethodNoArgs(truth ? tag : mt.empty, mt.encode);
    Py_DECREF(tag);
    return out;
}

typedef struct {
    PyObject *session, *txns, *unset;
    PyObject *transactions; /* dict */
    PyObject *requests;     /* list, until seen exists */
    PyObject *seen;         /* set or NULL */
    PyObject *first;
    int invite;
    long retransmissions;
} MatchState;

static int
match_flag(PyObject *m)
{
    return PyObject_SetAttr(m, mt.retransmission, Py_True);
}

/* m repeats a message kept in txn: txn's count k (TS_REQ_RT or TS_RESP_RT) and the session's
   go up, and m is flagged. */
static int
match_repeated(MatchState *st, PyObject *txn, int k, PyObject *m)
{
    if (match_txn_count(txn, k) < 0)
        return -1;
    st->retransmissions++;
    return match_flag(m);
}

/* A new transaction under key, listed in the session's order; a new reference, or NULL. */
static PyObject *
match_add_txn(MatchState *st, PyObject *key, PyObject *method, PyObject *num, PyObject *branch,
              PyObject *request)
{
    PyObject *txn = match_new_txn(method, num, branch, request);
    if (txn != NULL && (PyDict_SetItem(st->transactions, key, txn) < 0 ||
                        PyList_Append(st->txns, txn) < 0))
        Py_CLEAR(txn);
    return txn;
}

/* A response whose transaction exists: 1 when a kept response is the same one again. */
static int
match_response_again(PyObject *m, PyObject *txn)
{
    PyObject *status = match_get(m, MS_STATUS);
    if (status == NULL)
        return -1;
    int truth = PyObject_IsTrue(status);
    if (truth < 0) {
        Py_DECREF(status);
        return -1;
    }
    if (!truth)
        Py_SETREF(status, PyLong_FromLong(0));
    PyObject *src = status != NULL ? match_get(m, MS_SRC) : NULL;
    PyObject *dst = src != NULL ? match_get(m, MS_DST) : NULL;
    PyObject *responses = dst != NULL ? match_txn_get(txn, TS_RESPONSES) : NULL;
    PyObject *tag = NULL;
    int again = responses != NULL ? 0 : -1;
    for (Py_ssize_t i = 0; again == 0; i++) {
        PyObject *r;
        if (PyList_CheckExact(responses)) {
            if (i >= PyList_GET_SIZE(responses))
                break;
            r = Py_NewRef(PyList_GET_ITEM(responses, i));
        } else {
            r = PySequence_GetItem(responses, i);
            if (r == NULL) {
                if (PyErr_ExceptionMatches(PyExc_IndexError)) {
                    PyErr_Clear();
                    break;
                }
                again = -1;
                break;
            }
        }
        int same = 0;
        PyObject *rs = match_get(r, MS_STATUS);
        if (rs == NULL) {
            same = -1;
        } else {
            int t = PyObject_IsTrue(rs);
            if (t < 0)
                same = -1;
            else if (!t)
                Py_SETREF(rs, PyLong_FromLong(0));
            if (same == 0)
                same = rs != NULL ? PyObject_RichCompareBool(rs, status, Py_EQ) : -1;
            Py_XDECREF(rs);
        }
        if (same > 0) {
            PyObject *v = match_get(r, MS_SRC);
            same = v != NULL ? PyObject_RichCompareBool(v, src, Py_EQ) : -1;
            Py_XDECREF(v);
        }
        if (same > 0) {
            PyObject *v = match_get(r, MS_DST);
            same = v != NULL ? PyObject_RichCompareBool(v, dst, Py_EQ) : -1;
            Py_XDECREF(v);
        }
        if (same > 0) {
            if (tag == NULL)
                tag = match_to_tag(m);
            PyObject *rtag = tag != NULL ? match_to_tag(r) : NULL;
            same = rtag != NULL ? PyObject_RichCompareBool(rtag, tag, Py_EQ) : -1;
            Py_XDECREF(rtag);
            if (same > 0)
                again = 1;
        }
        if (same < 0)
            again = -1;
        Py_DECREF(r);
    }
    Py_XDECREF(tag);
    Py_XDECREF(responses);
    Py_XDECREF(dst);
    Py_XDECREF(src);
    Py_XDECREF(status);
    return again;
}

/* One message of the loop of _match_python. */
static int
match_one(MatchState *st, PyObject *m)
{
    PyObject *method = NULL, *cseq = NULL, *branch = NULL, *key = NULL, *src = NULL,
             *dst = NULL, *seen_key = NULL, *txn_new = NULL;
    int rc = -1;
    method = match_get(m, MS_METHOD);
    if (method == NULL)
        goto done;
    int named = PyObject_IsTrue(method);
    if (named < 0)
        goto done;
    if (named) {
        if (st->first == NULL)
            st->first = Py_NewRef(m);
        int eq = PyObject_RichCompareBool(method, mt.invite, Py_EQ);
        if (eq < 0)
            goto done;
        if (eq)
            st->invite = 1;
    }
    cseq = match_cseq(m, st->unset);
    if (cseq == NULL)
        goto done;
    if (cseq == Py_None) {
        rc = 0;
        goto done;
    }
    if (!PyTuple_CheckExact(cseq) || PyTuple_GET_SIZE(cseq) != 2) {
        PyErr_SetString(PyExc_ValueError, "sip_match: a CSeq that is not (number, method)");
        goto done;
    }
    PyObject *num = PyTuple_GET_ITEM(cseq, 0), *cmethod = PyTuple_GET_ITEM(cseq, 1);
    branch = match_branch(m, st->unset);
    if (branch == NULL)
        goto done;
    PyObject *branch_key = Py_None;
    int truth = PyObject_IsTrue(branch);
    if (truth < 0)
        goto done;
    if (truth) {
        int cookie;
        if (PyUnicode_Check(branch)) {
            Py_ssize_t t = PyUnicode_Tailmatch(branch, mt.cookie, 0, PY_SSIZE_T_MAX, -1);
            if (t < 0)
                goto done;
            cookie = (int)t;
        } else {
            PyObject *r = PyObject_CallMethodOneArg(branch, mt.startswith, mt.cookie);
            if (r == NULL)
                goto done;
            cookie = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (cookie < 0)
                goto done;
        }
        if (cookie)
            branch_key = branch;
    }
    key = PyTuple_Pack(3, branch_key, num, cmethod);
    if (key == NULL)
        goto done;
    PyObject *txn = PyDict_GetItemWithError(st->transactions, key); /* borrowed: kept */
    if (txn == NULL && PyErr_Occurred())
        goto done;
    if (method != Py_None) {
        PyObject *rmethod = named ? method : cmethod;
        int cancel = PyObject_RichCompareBool(rmethod, mt.cancel, Py_EQ);
        if (cancel < 0)
            goto done;
        if (cancel) {
            PyObject *ikey = PyTuple_Pack(3, branch_key, num, mt.invite);
            if (ikey == NULL)
                goto done;
            PyObject *target = PyDict_GetItemWithError(st->transactions, ikey);
            Py_DECREF(ikey);
            if (target == NULL && PyErr_Occurred())
                goto done;
            if (target != NULL &&
                PyObject_SetAttr(target, mt.txn_names[TS_CANCELLED], Py_True) < 0)
                goto done;
        }
        if ((src = match_get(m, MS_SRC)) == NULL || (dst = match_get(m, MS_DST)) == NULL)
            goto done;
        seen_key = PyTuple_Pack(5, branch_key, num, rmethod, src, dst);
        if (seen_key == NULL)
            goto done;
        if (txn != NULL && st->seen == NULL) {
            st->seen = PySet_New(st->requests);
            if (st->seen == NULL)
                goto done;
        }
        if (st->seen == NULL) {
            if (PyList_Append(st->requests, seen_key) < 0)
                goto done;
        } else {
            if (txn != NULL) {
                int in = PySet_Contains(st->seen, seen_key);
                if (in < 0)
                    goto done;
                if (in) {
                    rc = match_repeated(st, txn, TS_REQ_RT, m);
                    goto done;
                }
            }
            if (PySet_Add(st->seen, seen_key) < 0)
                goto done;
        }
        if (txn == NULL) {
            txn_new = match_add_txn(st, key, rmethod, num, branch, m);
            if (txn_new == NULL)
                goto done;
        } else {
            PyObject *request = match_txn_get(txn, TS_REQUEST);
            if (request == NULL)
                goto done;
            Py_DECREF(request);
            if (request == Py_None &&
                PyObject_SetAttr(txn, mt.txn_names[TS_REQUEST], m) < 0)
                goto done;
        }
        rc = 0;
        goto done;
    }
    /* A response. Reading the To tag notes the To header's problems: in this order. */
    if (match_note_to(m, st->unset) < 0)
        goto done;
    if (txn == NULL) {
        txn_new = match_add_txn(st, key, cmethod, num, branch, NULL);
        if (txn_new == NULL)
            goto done;
        txn = txn_new;
    } else {
        int again = match_response_again(m, txn);
        if (again < 0)
            goto done;
        if (again) {
            rc = match_repeated(st, txn, TS_RESP_RT, m);
            goto done;
        }
    }
    PyObject *responses = match_txn_get(txn, TS_RESPONSES);
    if (responses == NULL)
        goto done;
    int appended;
    if (PyList_CheckExact(responses)) {
        appended = PyList_Append(responses, m);
    } else {
        PyObject *r = PyObject_CallMethod(responses, "append", "O", m);
        appended = r != NULL ? 0 : -1;
        Py_XDECREF(r);
    }
    Py_DECREF(responses);
    if (appended < 0)
        goto done;
    rc = 0;
done:
    Py_XDECREF(txn_new);
    Py_XDECREF(seen_key);
    Py_XDECREF(dst);
    Py_XDECREF(src);
    Py_XDECREF(key);
    Py_XDECREF(branch);
    Py_XDECREF(cseq);
    Py_XDECREF(method);
    return rc;
}

/* sip_match(session, messages, Transaction, SipMessage, unset) -> (first request, invite) */
static PyObject *
fast_sip_match(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyType_Check(args[2]) || !PyType_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "sip_match(session, messages, Transaction, SipMessage, unset)");
        return NULL;
    }
    if (match_setup(args[2], args[3]) < 0)
        return NULL;
    MatchState st = {.session = args[0], .unset = args[4]};
    PyObject *out = NULL;
    PyObject *seq = PySequence_Fast(args[1], "sip_match: messages must be a sequence");
    if (seq == NULL)
        return NULL;
    st.txns = PyObject_GetAttr(st.session, mt.transactions);
    st.transactions = PyDict_New();
    st.requests = PyList_New(0);
    if (st.txns == NULL || st.transactions == NULL || st.requests == NULL)
        goto done;
    if (!PyList_CheckExact(st.txns)) {
        PyErr_SetString(PyExc_TypeError, "sip_match: session.transactions must be a list");
        goto done;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int failed = 0;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        PyObject *m = Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
        failed = match_one(&st, m) < 0;
        Py_DECREF(m);
    }
    if (st.retransmissions > 0) {
        /* session.retransmissions += the count (as the Python adds them, also before an
         * error stops the loop) */
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        PyObject *v = PyObject_GetAttr(st.session, mt.retransmissions);
        PyObject *add = v != NULL ? PyLong_FromLong(st.retransmissions) : NULL;
        PyObject *sum = add != NULL ? PyNumber_InPlaceAdd(v, add) : NULL;
        int set = sum != NULL ? PyObject_SetAttr(st.session, mt.retransmissions, sum) : -1;
        Py_XDECREF(sum);
        Py_XDECREF(add);
        Py_XDECREF(v);
        if (exc_type != NULL) {
            PyErr_Clear();
            PyErr_Restore(exc_type, exc_value, exc_tb);
        } else if (set < 0) {
            failed = 1;
        }
    }
    if (!failed)
        out = Py_BuildValue("(OO)", st.first != NULL ? st.first : Py_None,
                            st.invite ? Py_True : Py_False);
done:
    Py_XDECREF(st.first);
    Py_XDECREF(st.seen);
    Py_XDECREF(st.requests);
    Py_XDECREF(st.transactions);
    Py_XDECREF(st.txns);
    Py_DECREF(seq);
    return out;
}

/* ---- SIP bodies as the media layer looks at them (media/stun_pipeline.py, sip/message.py) ---- */

/* Whether body[0:n] holds b"candidate" or b"ice-pwd" (StunPipeline.sip_body's test): one pass
 * instead of Python's two. A position is a candidate when its first and last bytes match one
 * of the words (compared 16 positions at a time with SSE2), then the whole word is compared. */
static int
body_has_ice_words(const unsigned char *d, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    /* Loads reach d[i + 8 + 15]: the loop stops while 24 bytes are left. */
    const __m128i c = _mm_set1_epi8('c'), e = _mm_set1_epi8('e');
    const __m128i ii = _mm_set1_epi8('i'), dd = _mm_set1_epi8('d');
    for (; i + 24 <= n; i += 16) {
        __m128i v0 = _mm_loadu_si128((const __m128i *)(d + i));
        __m128i v6 = _mm_loadu_si128((const __m128i *)(d + i + 6));
        __m128i v8 = _mm_loadu_si128((const __m128i *)(d + i + 8));
        __m128i hit = _mm_or_si128(
            _mm_and_si128(_mm_cmpeq_epi8(v0, c), _mm_cmpeq_epi8(v8, e)),
            _mm_and_si128(_mm_cmpeq_epi8(v0, ii), _mm_cmpeq_epi8(v6, dd)));
        unsigned int mask = (unsigned int)_mm_movemask_epi8(hit);
        while (mask) {
            Py_ssize_t k = i + __builtin_ctz(mask);
            mask &= mask - 1;
            if (d[k] == 'c' ? memcmp(d + k, "candidate", 9) == 0
                            : memcmp(d + k, "ice-pwd", 7) == 0)
                return 1;
        }
    }
#endif
    for (; i < n; i++) {
        if (d[i] == 'c' && n - i >= 9 && memcmp(d + i, "candidate", 9) == 0)
            return 1;
        if (d[i] == 'i' && n - i >= 7 && memcmp(d + i, "ice-pwd", 7) == 0)
            return 1;
    }
    return 0;
}

static PyObject *
fast_ice_words(PyObject *Py_UNUSED(module), PyObject *body)
{
    Py_buffer view;
    if (PyObject_GetBuffer(body, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    int found = body_has_ice_words((const unsigned char *)view.buf, view.len);
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

/* message.py's _find_delimiter: the next "--boundary" at a line start from pos, or -1. */
static Py_ssize_t
mp_find_delimiter(const unsigned char *d, Py_ssize_t n, const unsigned char *delim,
                  Py_ssize_t dl, Py_ssize_t pos)
{
    for (;;) {
        Py_ssize_t hit;
        if (pos == 0 && n >= dl && memcmp(d, delim, (size_t)dl) == 0) {
            hit = 0;
        } else {
            /* body.find(b"\n" + delim, max(pos - 1, 0)) */
            Py_ssize_t s = pos > 0 ? pos - 1 : 0;
            hit = -1;
            while (s < n) {
                const unsigned char *lf = memchr(d + s, '\n', (size_t)(n - s));
                if (lf == NULL)
                    break;
                Py_ssize_t f = lf - d;
                if (n - f - 1 < dl)
                    break; /* no room for the delimiter after this LF, nor after a later one */
                if (memcmp(d + f + 1, delim, (size_t)dl) == 0) {
                    hit = f + 1;
                    break;
                }
                s = f + 1;
            }
            if (hit < 0)
                return -1;
        }
        Py_ssize_t after = hit + dl;
        if (after >= n)
            return hit;
        unsigned char b = d[after];
        if (b == '-' || b == '\r' || b == '\n' || b == ' ' || b == '\t')
            return hit;
        pos = hit + 1;
    }
}

/* multipart_spans(body, delim, limit) -> (spans, problem): message.py's multipart_spans with
 * the delimiter already encoded; problem 0 (none), 1 (boundary not found), 2 (no close
 * delimiter). */
static PyObject *
fast_multipart_spans(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "multipart_spans(body, delim, limit)");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[2]);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer bv, dv;
    if (PyObject_GetBuffer(args[0], &bv, PyBUF_SIMPLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &dv, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&bv);
        return NULL;
    }
    PyObject *spans = NULL, *result = NULL;
    const unsigned char *d = (const unsigned char *)bv.buf;
    const unsigned char *delim = (const unsigned char *)dv.buf;
    Py_ssize_t n = bv.len, dl = dv.len;
    int problem = 2;
    if (dl < 1) {
        PyErr_SetString(PyExc_ValueError, "multipart_spans: empty delimiter");
        goto done;
    }
    spans = PyList_New(0);
    if (spans == NULL)
        goto done;
    Py_ssize_t pos = mp_find_delimiter(d, n, delim, dl, 0);
    if (pos < 0) {
        problem = 1;
    } else {
        while (PyList_GET_SIZE(spans) < limit) {
            Py_ssize_t after = pos + dl;
            if (after + 2 <= n && d[after] == '-' && d[after + 1] == '-') {
                problem = 0;
                break;
            }
            const unsigned char *lf =
                after < n ? memchr(d + after, '\n', (size_t)(n - after)) : NULL;
            if (lf == NULL)
                break;
            Py_ssize_t start = lf - d + 1;
            Py_ssize_t nxt = mp_find_delimiter(d, n, delim, dl, start);
            Py_ssize_t end;
            if (nxt < 0) {
                end = n;
            } else {
                end = nxt - 1; /* the LF before the delimiter */
                if (end > start && d[end - 1] == '\r')
                    end--;
                if (end < start)
                    end = start;
            }
            PyObject *span = Py_BuildValue("(nn)", start, end);
            if (span == NULL || PyList_Append(spans, span) < 0) {
                Py_XDECREF(span);
                goto done;
            }
            Py_DECREF(span);
            if (nxt < 0)
                break;
            pos = nxt;
        }
    }
    result = Py_BuildValue("(Oi)", spans, problem);
done:
    Py_XDECREF(spans);
    PyBuffer_Release(&dv);
    PyBuffer_Release(&bv);
    return result;
}

/* part_head_matters' test on body d, part d[a:b] (0 <= a <= b <= the body's length): 1 when
 * the part's header block may name application/sdp or a multipart type. */
static int
part_head_may_matter(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    /* The end of the headers: the first LF followed by LF or CRLF (a part that starts with
     * its empty line has none). */
    Py_ssize_t head_end = a;
    if (!(b - a >= 1 && (d[a] == '\n' || (d[a] == '\r' && b - a >= 2 && d[a + 1] == '\n')))) {
        Py_ssize_t s = a;
        while (s < b) {
            const unsigned char *lf = memchr(d + s, '\n', (size_t)(b - s));
            if (lf == NULL)
                break;
            Py_ssize_t p = lf - d;
            if ((p + 2 <= b && d[p + 1] == '\n') ||
                (p + 3 <= b && d[p + 1] == '\r' && d[p + 2] == '\n')) {
                head_end = p + 1;
                break;
            }
            s = p + 1;
        }
    }
    /* The last eight letters kept, the latest in the low byte, and the one before them (zero
     * bytes while fewer were kept: no letter is zero). */
    const uint64_t sdp = ((uint64_t)'s' << 16) | ((uint64_t)'d' << 8) | 'p';
    uint64_t ultipart = 0;
    for (const char *w = "ultipart"; *w; w++)
        ultipart = (ultipart << 8) | (unsigned char)*w;
    uint64_t last = 0;
    unsigned char ninth = 0;
    for (Py_ssize_t i = a; i < head_end; i++) {
        unsigned char c = d[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
            continue;
        ninth = (unsigned char)(last >> 56);
        last = (last << 8) | c;
        if ((last & 0xFFFFFF) == sdp || (last == ultipart && ninth == 'm'))
            return 1;
    }
    return 0;
}

/* part_head_matters(body, start, end) -> bool: media/stats.py's part_head_matters_py: whether
 * the header block of the part body[start:end] (where message.py's part_bounds ends it) may
 * name application/sdp or a multipart type: lower-cased, with everything but [0-9a-z] left
 * out, it holds "sdp" or "multipart". */
static PyObject *
fast_part_head_matters(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "part_head_matters(body, start, end)");
        return NULL;
    }
    Py_ssize_t a = PyLong_AsSsize_t(args[1]);
    if (a == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t b = PyLong_AsSsize_t(args[2]);
    if (b == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *d = (const unsigned char *)view.buf;
    if (a < 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "part_head_matters: negative start");
        return NULL;
    }
    /* A span past the body's end (spans cached before --redact replaced the body) is read
     * as Python's find and startswith read it: the end is clamped to the body, and a start
     * past it finds no header block. */
    if (b > view.len)
        b = view.len;
    if (a > b) {
        PyBuffer_Release(&view);
        Py_RETURN_FALSE;
    }
    int found = part_head_may_matter(d, a, b);
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

/* ---- XML bodies: the common, plain shape read without a tree (sip/xmlbody.py) ----------
 *
 * xml_elements(body, ...) reads a body in a deliberately narrow subset of XML: UTF-8, an
 * optional `<?xml version="1.0" ...?>` declaration first, then one element tree with ASCII
 * names (at most one colon), quoted attribute values and character data, and nothing else:
 * no `&` at all (no entity or character references), no CR in text or values, no `<!`
 * (comments, CDATA, DTD), no other processing instruction, no byte order mark. Inside that
 * subset it checks everything expat checks in namespace mode (names, nesting, unique
 * attributes, bound prefixes, characters, `]]>` in text, what may stand outside the root),
 * so a body it accepts is one expat accepts, with the same elements, attributes and text.
 * Anything else, well-formed or not, gives None and ElementTree reads the body (which also
 * words every error). */

#define XS_MAX_DEPTH 256
#define XS_MAX_ATTRS 64
#define XS_MAX_DECLS 512

#define XS_NAME_START 1
#define XS_NAME_CHAR 2
#define XS_PLAIN 4 /* an ASCII character of text or a value that needs no other check */
#define XS_SPACE 8

static unsigned char xs_class[256];

static void
xs_init_classes(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')
            k |= XS_NAME_START | XS_NAME_CHAR;
        if ((c >= '0' && c <= '9') || c == '.' || c == '-')
            k |= XS_NAME_CHAR;
        if ((c >= 0x20 && c < 0x80 && c != '<' && c != '&' && c != '>') || c == '\t' || c == '\n')
            k |= XS_PLAIN;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            k |= XS_SPACE; /* S; text and values hold no CR here */
        xs_class[c] = k;
    }
}

typedef struct {
    const unsigned char *p; /* prefix (NULL: the default namespace) */
    Py_ssize_t plen;
    int depth;
} xs_decl;

typedef struct {
    const unsigned char *name;
    Py_ssize_t nlen, colon; /* colon: offset of the ':' in name, or -1 */
    const unsigned char *val;
    Py_ssize_t vlen;
} xs_attr;

#define xs_space(c) (xs_class[(unsigned char)(c)] & XS_SPACE)
#define xs_name_char(c) (xs_class[(unsigned char)(c)] & XS_NAME_CHAR)

/* An ASCII name with at most one colon, neither first nor last: its end, or -1. */
static Py_ssize_t
xs_name(const unsigned char *d, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *colon)
{
    Py_ssize_t start = i;
    *colon = -1;
    if (i >= n || !(xs_class[d[i]] & XS_NAME_START))
        return -1;
    i++;
    for (;;) {
        while (i < n && (xs_class[d[i]] & XS_NAME_CHAR))
            i++;
        if (i + 1 < n && d[i] == ':' && *colon < 0 && (xs_class[d[i + 1]] & XS_NAME_START)) {
            *colon = i - start;
            i += 2;
            continue;
        }
        return i;
    }
}

/* Whether d[0:n] is character data expat takes as it is: no '<', '&' or CR, no control
 * character but tab and LF, strict UTF-8 of XML characters (no surrogates, U+FFFE, U+FFFF),
 * and (text only) no "]]>". */
static int
xs_chars_ok(const unsigned char *d, Py_ssize_t n, int text)
{
    Py_ssize_t i = 0;
    for (;;) {
        while (i < n && (xs_class[d[i]] & XS_PLAIN))
            i++;
        if (i >= n)
            return 1;
        unsigned char c = d[i];
        if (c == '>') {
            if (text && i >= 2 && d[i - 1] == ']' && d[i - 2] == ']')
                return 0;
            i++;
            continue;
        }
        Py_ssize_t len;
        unsigned int cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0; /* '<', '&', CR, another control character, or not UTF-8 */
        }
        if (n - i < len)
            return 0;
        for (Py_ssize_t k = 1; k < len; k++) {
            if ((d[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (d[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
            return 0;
        i += len;
    }
}

/* An attribute value as ElementTree holds it: tab and LF become spaces (CR and references
 * never get here). */
static PyObject *
xs_value(const unsigned char *v, Py_ssize_t n)
{
    PyObject *s = PyUnicode_DecodeUTF8((const char *)v, n, "strict");
    if (s == NULL || (memchr(v, '\t', (size_t)n) == NULL && memchr(v, '\n', (size_t)n) == NULL))
        return s;
    PyObject *out = s;
    static const char *from[2] = {"\t", "\n"};
    for (int k = 0; k < 2 && out != NULL; k++) {
        PyObject *a = PyUnicode_FromString(from[k]);
        PyObject *b = a != NULL ? PyUnicode_FromString(" ") : NULL;
        PyObject *r = b != NULL ? PyUnicode_Replace(out, a, b, -1) : NULL;
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_DECREF(out);
        out = r;
    }
    return out;
}

/* The optional XML declaration at d[0]: where it ends (0: none), or -1 (not the plain
 * form: version 1.0, then optionally encoding UTF-8 and standalone yes/no). */
static Py_ssize_t
xs_declaration(const unsigned char *d, Py_ssize_t n)
{
    if (n < 5 || memcmp(d, "<?xml", 5) != 0)
        return 0;
    static const char *names[3] = {"version", "encoding", "standalone"};
    Py_ssize_t i = 5;
    int next = 0;
    for (;;) {
        Py_ssize_t s = i;
        while (i < n && xs_space(d[i]))
            i++;
        if (n - i >= 2 && d[i] == '?' && d[i + 1] == '>')
            return next > 0 ? i + 2 : -1;
        if (i == s)
            return -1;
        int which = -1;
        for (int k = next; k < 3 && which < 0; k++) {
            size_t len = strlen(names[k]);
            if ((size_t)(n - i) > len && memcmp(d + i, names[k], len) == 0 &&
                !xs_name_char(d[i + len]))
                which = k;
        }
        if (which < 0 || (next == 0 && which != 0))
            return -1;
        i += (Py_ssize_t)strlen(names[which]);
        while (i < n && xs_space(d[i]))
            i++;
        if (i >= n || d[i] != '=')
            return -1;
        i++;
        while (i < n && xs_space(d[i]))
            i++;
        if (i >= n || (d[i] != '"' && d[i] != '\''))
            return -1;
        unsigned char q = d[i++];
        Py_ssize_t v = i;
        while (i < n && d[i] != q)
            i++;
        if (i >= n)
            return -1;
        Py_ssize_t vlen = i - v;
        i++;
        const unsigned char *val = d + v;
        int ok;
        if (which == 0) {
            ok = vlen == 3 && memcmp(val, "1.0", 3) == 0;
        } else if (which == 1) {
            ok = vlen == 5 && (val[0] | 0x20) == 'u' && (val[1] | 0x20) == 't' &&
                 (val[2] | 0x20) == 'f' && val[3] == '-' && val[4] == '8';
        } else {
            ok = (vlen == 3 && memcmp(val, "yes", 3) == 0) ||
                 (vlen == 2 && memcmp(val, "no", 2) == 0);
        }
        if (!ok)
            return -1;
        next = which + 1;
    }
}

/* A namespace name the subset leaves to expat: the two reserved ones, or one with a brace
 * (ElementTree's {namespace}name would not read back). */
static int
xs_reserved_uri(const unsigned char *v, Py_ssize_t n)
{
    static const char *xml_ns = "http://www.w3.org/XML/1998/namespace";
    static const char *xmlns_ns = "http://www.w3.org/2000/xmlns/";
    return (n == (Py_ssize_t)strlen(xml_ns) && memcmp(v, xml_ns, (size_t)n) == 0) ||
           (n == (Py_ssize_t)strlen(xmlns_ns) && memcmp(v, xmlns_ns, (size_t)n) == 0) ||
           memchr(v, '{', (size_t)n) != NULL || memchr(v, '}', (size_t)n) != NULL;
}

/* A prefix starting with "xml" in any case: reserved (xml, xmlns), left to expat. */
static int
xs_xml_prefix(const unsigned char *p, Py_ssize_t plen)
{
    return plen >= 3 && (p[0] | 0x20) == 'x' && (p[1] | 0x20) == 'm' && (p[2] | 0x20) == 'l';
}

/* Whether prefix p[0:plen] is bound by a declaration in decls[0:nd]. */
static int
xs_bound(const xs_decl *decls, int nd, const unsigned char *p, Py_ssize_t plen)
{
    for (int k = nd - 1; k >= 0; k--)
        if (decls[k].p != NULL && decls[k].plen == plen &&
            memcmp(decls[k].p, p, (size_t)plen) == 0)
            return 1;
    return 0;
}

/* The str of words (a tuple of ASCII str) equal to s[0:n], borrowed, or NULL. */
static PyObject *
xs_word(PyObject *words, const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t count = PyTuple_GET_SIZE(words);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *w = PyTuple_GET_ITEM(words, k);
        if (PyUnicode_GET_LENGTH(w) == n && memcmp(PyUnicode_DATA(w), s, (size_t)n) == 0)
            return w;
    }
    return NULL;
}

/* One element as xml_elements reads it: the part of ElementTree's Element the summaries use
 * (tag: the local name; attrib: the attributes kept; text; get; iter; iteration over the
 * children). The elements of a body share one list, in document order: an element's
 * descendants follow it, up to its end. */
typedef struct {
    PyObject_HEAD
    PyObject *tag;
    PyObject *attrib;
    PyObject *text;
    PyObject *every; /* the list of the body's elements (a cycle: the type has GC) */
    Py_ssize_t index, end;
} XmlElement;

static int
XmlElement_traverse(XmlElement *self, visitproc visit, void *arg)
{
    Py_VISIT(self->tag);
    Py_VISIT(self->attrib);
    Py_VISIT(self->text);
    Py_VISIT(self->every);
    return 0;
}

static int
XmlElement_clear(XmlElement *self)
{
    Py_CLEAR(self->tag);
    Py_CLEAR(self->attrib);
    Py_CLEAR(self->text);
    Py_CLEAR(self->every);
    return 0;
}

static void
XmlElement_dealloc(XmlElement *self)
{
    PyObject_GC_UnTrack(self);
    XmlElement_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
XmlElement_get(XmlElement *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(key, default=None)");
        return NULL;
    }
    PyObject *found = self->attrib != NULL ? PyDict_GetItemWithError(self->attrib, args[0]) : NULL;
    if (found != NULL)
        return Py_NewRef(found);
    if (PyErr_Occurred())
        return NULL;
    return Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

static PyObject *
XmlElement_iter_all(XmlElement *self, PyObject *Py_UNUSED(ignored))
{
    if (self->every == NULL || self->end > PyList_GET_SIZE(self->every))
        return PyList_New(0); /* cleared */
    return PyList_GetSlice(self->every, self->index, self->end);
}

static PyObject *
XmlElement_children(XmlElement *self)
{
    PyObject *out = PyList_New(0);
    if (out == NULL || self->every == NULL || self->end > PyList_GET_SIZE(self->every))
        return out;
    Py_ssize_t i = self->index + 1;
    while (i < self->end) {
        XmlElement *child = (XmlElement *)PyList_GET_ITEM(self->every, i);
        if (PyList_Append(out, (PyObject *)child) < 0) {
            Py_DECREF(out);
            return NULL;
        }
        i = child->end > i ? child->end : i + 1;
    }
    return out;
}

static PyObject *
XmlElement_tp_iter(XmlElement *self)
{
    PyObject *children = XmlElement_children(self);
    if (children == NULL)
        return NULL;
    PyObject *it = PyObject_GetIter(children);
    Py_DECREF(children);
    return it;
}

static PyObject *
XmlElement_named(XmlElement *self, PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "named(name): name is a str");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL || self->every == NULL || self->end > PyList_GET_SIZE(self->every))
        return out;
    for (Py_ssize_t i = self->index; i < self->end; i++) {
        PyObject *el = PyList_GET_ITEM(self->every, i);
        PyObject *tag = ((XmlElement *)el)->tag;
        int same = tag == name;
        if (!same && tag != NULL) {
            same = PyUnicode_Compare(tag, name) == 0;
            if (PyErr_Occurred()) {
                Py_DECREF(out);
                return NULL;
            }
        }
        if (same && PyList_Append(out, el) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

static PyMethodDef XmlElement_methods[] = {
    {"named", (PyCFunction)XmlElement_named, METH_O,
     "named(name) -> list: this element and its descendants whose local name is name, in\n"
     "document order (sip/xmlbody.py's _children)."},
    {"get", (PyCFunction)(void (*)(void))XmlElement_get, METH_FASTCALL,
     "get(key, default=None): the attribute's value (only the attributes kept)."},
    {"iter", (PyCFunction)XmlElement_iter_all, METH_NOARGS,
     "iter() -> list: this element and its descendants, in document order."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef XmlElement_members[] = {
    {"tag", T_OBJECT, offsetof(XmlElement, tag), READONLY, "The local name."},
    {"attrib", T_OBJECT, offsetof(XmlElement, attrib), READONLY,
     "The attributes without a prefix that were asked for."},
    {"text", T_OBJECT, offsetof(XmlElement, text), READONLY,
     "The text before the first child, or None."},
    {"end", T_PYSSIZET, offsetof(XmlElement, end), READONLY,
     "The index past the last descendant in the body's list."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject XmlElementType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lyncdump._fastpath.XmlElement",
    .tp_basicsize = sizeof(XmlElement),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "An element read by xml_elements (see sip/xmlbody.py).",
    .tp_traverse = (traverseproc)XmlElement_traverse,
    .tp_clear = (inquiry)XmlElement_clear,
    .tp_dealloc = (destructor)XmlElement_dealloc,
    .tp_iter = (getiterfunc)XmlElement_tp_iter,
    .tp_methods = XmlElement_methods,
    .tp_members = XmlElement_members,
};

/* 1: in the subset; 0: not (ElementTree decides); -1: a Python error. On 1, *out is
 * (root_tag, elements) where elements is None when the root's local name is not in roots,
 * else the list of its XmlElements in document order, with only the attributes named in
 * attributes (without a prefix). */
static int
xs_scan(const unsigned char *d, Py_ssize_t n, PyObject *roots, PyObject *names,
        PyObject *attributes, PyObject **out)
{
    xs_decl decls[XS_MAX_DECLS];
    xs_attr attrs[XS_MAX_ATTRS];
    Py_ssize_t stack_name[XS_MAX_DEPTH], stack_len[XS_MAX_DEPTH], stack_index[XS_MAX_DEPTH];
    int nd = 0, depth = 0, done = 0, want = 0;
    Py_ssize_t count = 0; /* elements so far */
    PyObject *items = NULL, *root_tag = NULL;

    Py_ssize_t i = xs_declaration(d, n);
    if (i < 0)
        return 0;
    while (i < n && xs_space(d[i]))
        i++;
    if (i >= n || d[i] != '<')
        return 0;
    while (i < n) {
        if (d[i] != '<') {
            /* character data up to the next tag (or the end) */
            const unsigned char *lt = memchr(d + i, '<', (size_t)(n - i));
            Py_ssize_t e = lt != NULL ? lt - d : n;
            if (depth == 0) {
                for (Py_ssize_t k = i; k < e; k++)
                    if (!xs_space(d[k]))
                        goto no;
            } else {
                if (!xs_chars_ok(d + i, e - i, 1))
                    goto no;
                /* the text before the element's first child: one run (no reference, comment
                 * or CDATA splits it), which ends at a '<' (so "]]>" cannot straddle it) */
                if (want && stack_index[depth - 1] == count - 1) {
                    XmlElement *item = (XmlElement *)PyList_GET_ITEM(items, count - 1);
                    PyObject *text = PyUnicode_DecodeUTF8((const char *)d + i, e - i, "strict");
                    if (text == NULL)
                        goto error;
                    Py_SETREF(item->text, text);
                }
            }
            i = e;
            continue;
        }
        if (done)
            goto no; /* a second root, or a tag after it */
        if (n - i >= 2 && d[i + 1] == '/') {
            /* an end tag */
            if (depth == 0)
                goto no;
            Py_ssize_t colon, e = xs_name(d, n, i + 2, &colon);
            if (e < 0)
                goto no;
            Py_ssize_t len = e - (i + 2);
            if (len != stack_len[depth - 1] ||
                memcmp(d + i + 2, d + stack_name[depth - 1], (size_t)len) != 0)
                goto no;
            while (e < n && xs_space(d[e]))
                e++;
            if (e >= n || d[e] != '>')
                goto no;
            depth--;
            if (want)
                ((XmlElement *)PyList_GET_ITEM(items, stack_index[depth]))->end = count;
            while (nd > 0 && decls[nd - 1].depth > depth)
                nd--;
            if (depth == 0)
                done = 1;
            i = e + 1;
            continue;
        }
        /* a start tag */
        if (depth >= XS_MAX_DEPTH)
            goto no;
        Py_ssize_t colon, start = i + 1, e = xs_name(d, n, start, &colon);
        if (e < 0)
            goto no;
        Py_ssize_t nlen = e - start;
        int na = 0, empty = 0;
        for (;;) {
            Py_ssize_t s = e;
            while (e < n && xs_space(d[e]))
                e++;
            if (e >= n)
                goto no;
            if (d[e] == '>') {
                e++;
                break;
            }
            if (d[e] == '/') {
                if (e + 1 >= n || d[e + 1] != '>')
                    goto no;
                empty = 1;
                e += 2;
                break;
            }
            if (e == s || na >= XS_MAX_ATTRS)
                goto no;
            xs_attr *a = &attrs[na++];
            a->name = d + e;
            Py_ssize_t ae = xs_name(d, n, e, &a->colon);
            if (ae < 0)
                goto no;
            a->nlen = ae - e;
            e = ae;
            while (e < n && xs_space(d[e]))
                e++;
            if (e >= n || d[e] != '=')
                goto no;
            e++;
            while (e < n && xs_space(d[e]))
                e++;
            if (e >= n || (d[e] != '"' && d[e] != '\''))
                goto no;
            const unsigned char *q = memchr(d + e + 1, d[e], (size_t)(n - e - 1));
            if (q == NULL)
                goto no;
            a->val = d + e + 1;
            a->vlen = q - a->val;
            if (!xs_chars_ok(a->val, a->vlen, 0))
                goto no;
            e = q - d + 1;
            for (int k = 0; k < na - 1; k++) /* duplicates, and prefixed names alike */
                if ((attrs[k].nlen == a->nlen &&
                     memcmp(attrs[k].name, a->name, (size_t)a->nlen) == 0) ||
                    (a->colon >= 0 && attrs[k].colon >= 0 &&
                     attrs[k].nlen - attrs[k].colon == a->nlen - a->colon &&
                     memcmp(attrs[k].name + attrs[k].colon, a->name + a->colon,
                            (size_t)(a->nlen - a->colon)) == 0))
                    goto no;
        }
        /* this element's declarations first: they apply to its own names */
        const unsigned char *uri = NULL; /* the root's namespace */
        Py_ssize_t uri_len = 0;
        for (int k = 0; k < na; k++) {
            xs_attr *a = &attrs[k];
            if (a->nlen == 5 && memcmp(a->name, "xmlns", 5) == 0) {
                if (xs_reserved_uri(a->val, a->vlen) || nd >= XS_MAX_DECLS)
                    goto no;
                if (colon < 0) {
                    uri = a->val;
                    uri_len = a->vlen;
                }
                decls[nd].p = NULL;
                decls[nd].plen = 0;
                decls[nd++].depth = depth + 1;
            } else if (a->colon == 5 && memcmp(a->name, "xmlns", 5) == 0) {
                const unsigned char *p = a->name + 6;
                Py_ssize_t plen = a->nlen - 6;
                if (a->vlen == 0 || xs_reserved_uri(a->val, a->vlen) || nd >= XS_MAX_DECLS ||
                    xs_xml_prefix(p, plen))
                    goto no;
                if (colon == plen && memcmp(p, d + start, (size_t)plen) == 0) {
                    uri = a->val;
                    uri_len = a->vlen;
                }
                decls[nd].p = p;
                decls[nd].plen = plen;
                decls[nd++].depth = depth + 1;
            }
        }
        const unsigned char *local = d + start;
        Py_ssize_t llen = nlen;
        if (colon >= 0) {
            if (xs_xml_prefix(local, colon) || !xs_bound(decls, nd, local, colon))
                goto no;
            local += colon + 1;
            llen -= colon + 1;
        } else if (nlen == 5 && memcmp(local, "xmlns", 5) == 0) {
            goto no;
        }
        for (int k = 0; k < na; k++) { /* a prefixed attribute's prefix is bound */
            xs_attr *a = &attrs[k];
            if (a->colon >= 0 && !(a->colon == 5 && memcmp(a->name, "xmlns", 5) == 0) &&
                (xs_xml_prefix(a->name, a->colon)
                     ? !(a->colon == 3 && memcmp(a->name, "xml", 3) == 0)
                     : !xs_bound(decls, nd, a->name, a->colon)))
                goto no;
        }
        if (depth == 0) {
            PyObject *name = PyUnicode_DecodeASCII((const char *)local, llen, "strict");
            if (name == NULL)
                goto error;
            if (uri != NULL && uri_len > 0) {
                PyObject *text = xs_value(uri, uri_len);
                root_tag = text != NULL ? PyUnicode_FromFormat("{%U}%U", text, name) : NULL;
                Py_XDECREF(text);
            } else {
                root_tag = Py_NewRef(name);
            }
            int found = root_tag != NULL ? PySequence_Contains(roots, name) : -1;
            Py_DECREF(name);
            if (found < 0)
                goto error;
            want = found;
            if (want && (items = PyList_New(0)) == NULL)
                goto error;
        }
        if (want) {
            XmlElement *item = PyObject_GC_New(XmlElement, &XmlElementType);
            if (item == NULL)
                goto error;
            item->index = count;
            item->end = count + 1;
            item->text = Py_NewRef(Py_None);
            item->every = Py_NewRef(items);
            item->tag = xs_word(names, local, llen);
            item->tag = item->tag != NULL
                            ? Py_NewRef(item->tag)
                            : PyUnicode_DecodeASCII((const char *)local, llen, "strict");
            item->attrib = item->tag != NULL ? PyDict_New() : NULL;
            PyObject_GC_Track((PyObject *)item);
            PyObject *attrib = item->attrib;
            int bad = attrib == NULL || PyList_Append(items, (PyObject *)item) < 0;
            Py_DECREF(item);
            if (bad)
                goto error;
            for (int k = 0; k < na; k++) {
                xs_attr *a = &attrs[k];
                PyObject *key = a->colon < 0 && !(a->nlen == 5 && memcmp(a->name, "xmlns", 5) == 0)
                                    ? xs_word(attributes, a->name, a->nlen)
                                    : NULL;
                if (key == NULL)
                    continue; /* prefixed, a declaration, or not one a summary reads */
                PyObject *val = xs_value(a->val, a->vlen);
                bad = val == NULL || PyDict_SetItem(attrib, key, val) < 0;
                Py_XDECREF(val);
                if (bad)
                    goto error;
            }
        }
        if (empty) {
            while (nd > 0 && decls[nd - 1].depth > depth)
                nd--;
            if (depth == 0)
                done = 1;
        } else {
            stack_name[depth] = start;
            stack_len[depth] = nlen;
            stack_index[depth] = count;
            depth++;
        }
        count++;
        i = e;
    }
    if (!done)
        goto no;
    PyObject *result = PyTuple_New(2);
    if (result == NULL)
        goto error;
    PyTuple_SET_ITEM(result, 0, root_tag);
    PyTuple_SET_ITEM(result, 1, items != NULL ? items : Py_NewRef(Py_None));
    *out = result;
    return 1;
no:
    if (items != NULL)
        (void)PyList_SetSlice(items, 0, PyList_GET_SIZE(items), NULL); /* no cycle left */
    Py_XDECREF(items);
    Py_XDECREF(root_tag);
    return 0;
error:
    if (items != NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        (void)PyList_SetSlice(items, 0, PyList_GET_SIZE(items), NULL);
        PyErr_Restore(type, value, tb);
    }
    Py_XDECREF(items);
    Py_XDECREF(root_tag);
    return -1;
}

static int
xs_words(PyObject *words)
{
    if (!PyTuple_CheckExact(words)) {
        PyErr_SetString(PyExc_TypeError, "xml_elements: names and attributes are tuples");
        return 0;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(words); k++) {
        PyObject *w = PyTuple_GET_ITEM(words, k);
        if (!PyUnicode_CheckExact(w) || !PyUnicode_IS_ASCII(w)) {
            PyErr_SetString(PyExc_TypeError, "xml_elements: the words are ASCII str");
            return 0;
        }
    }
    return 1;
}

static PyObject *
fast_xml_elements(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "xml_elements(body, roots, names, attributes)");
        return NULL;
    }
    if (!xs_words(args[2]) || !xs_words(args[3]))
        return NULL;
    static int classes_ready = 0;
    if (!classes_ready) {
        xs_init_classes();
        classes_ready = 1;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = NULL;
    int found = xs_scan((const unsigned char *)view.buf, view.len, args[1], args[2], args[3],
                        &out);
    PyBuffer_Release(&view);
    if (found < 0)
        return NULL;
    if (found == 0)
        Py_RETURN_NONE;
    return out;
}

/* ---- The session table (analysis/sessions.py's SessionBuilder, its open groups in C) ---- */

/* SessionBuilder keeps, per open Call-ID, a group of messages and a few flags, in two queues
 * ordered by last activity (every request answered: "settled"; the others: "busy"). Here a
 * group is a small object in a dict by Call-ID (the dict holds the only reference) and on one
 * of two intrusive doubly linked lists (borrowed pointers: a group is in the dict exactly
 * while it is on a list). add() reads the message's fields at their slots for the exact
 * SipMessage class, in the Python's order, and calls back into Python only where the Python
 * builder would run Python code of another module (call_id when not in the parse-time index,
 * cseq when not read yet, _invite_is_im, the emitted Call-IDs' RecentKeys, Session, _kind).
 * Emission sorts by frame in C and calls sip_match C to C. The pure-Python SessionBuilder is
 * the reference (tests/analysis/test_session_table.py drives both with the same inputs). */

typedef struct SGroup {
    PyObject_HEAD
    PyObject *call_id;  /* str */
    PyObject *messages; /* list: becomes the session's */
    PyObject *waiting;  /* set of (CSeq number, method) without a final answer; NULL: empty */
    struct SGroup *prev, *next;
    double last_time;
    long long order, part;
    int queue; /* 0 settled, 1 busy, -1 on neither (while add works on it) */
    char held, dialog, invite, may_call;
} SGroup;

static void
SGroup_dealloc(SGroup *g)
{
    Py_XDECREF(g->call_id);
    Py_XDECREF(g->messages);
    Py_XDECREF(g->waiting);
    PyObject_Free(g);
}

static PyTypeObject SGroupType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lyncdump._fastpath._SessionGroup",
    .tp_basicsize = sizeof(SGroup),
    .tp_dealloc = (destructor)SGroup_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One open group of a SessionTable (internal).",
};

enum { TF_SESSION, TF_TXN, TF_MSG, TF_UNSET, TF_KIND, TF_IS_IM, TF_FRAME_KEY, TF_COUNT };

/* The emitted sessions' Call-IDs and their last part: recent.py's RecentKeys (text_key keys,
 * with values) ported as it is, so that the same keys are remembered: the keys + 1 in order of
 * insertion (0 where a key was made newest again) with their values, an open-addressing index
 * of positions + 1 at most half full, the oldest keys forgotten in batches past the limit
 * (down to limit - limit / 16). 16 B a key and at most 16 B of index, as in Python. */
typedef struct {
    unsigned long long *keys;
    long long *values;
    Py_ssize_t n, cap, live, limit;
    unsigned int *index;
    size_t mask;
} Parts;

static void
parts_free(Parts *p)
{
    PyMem_Free(p->keys);
    PyMem_Free(p->values);
    PyMem_Free(p->index);
    p->keys = NULL;
    p->values = NULL;
    p->index = NULL;
    p->n = p->cap = p->live = 0;
    p->mask = 0;
}

static int
parts_init(Parts *p, Py_ssize_t limit)
{
    parts_free(p);
    p->limit = limit < 1 ? 1 : limit;
    p->mask = 15;
    p->index = PyMem_Calloc(16, sizeof(unsigned int));
    if (p->index == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* The index slot of k1 and its position in keys (-1 when absent: the slot is free). */
static Py_ssize_t
parts_find(const Parts *p, unsigned long long k1, size_t *slot)
{
    size_t i = (size_t)(k1 & p->mask);
    for (;;) {
        unsigned int at = p->index[i];
        if (at == 0) {
            *slot = i;
            return -1;
        }
        if (p->keys[at - 1] == k1) {
            *slot = i;
            return (Py_ssize_t)at - 1;
        }
        i = (i + 1) & p->mask;
    }
}

/* RecentKeys._drop: forget the count oldest keys, clear dead places, rebuild the index. */
static int
parts_drop(Parts *p, Py_ssize_t count)
{
    Py_ssize_t start = 0, kept = 0;
    while (count > 0 && start < p->n) {
        if (p->keys[start]) {
            count--;
            p->live--;
        }
        start++;
    }
    for (Py_ssize_t pos = start; pos < p->n; pos++)
        if (p->keys[pos]) {
            p->keys[kept] = p->keys[pos];
            p->values[kept] = p->values[pos];
            kept++;
        }
    p->n = kept;
    unsigned int *index = PyMem_Calloc(p->mask + 1, sizeof(unsigned int));
    if (index == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyMem_Free(p->index);
    p->index = index;
    for (Py_ssize_t pos = 0; pos < p->n; pos++) {
        size_t i = (size_t)(p->keys[pos] & p->mask);
        while (index[i])
            i = (i + 1) & p->mask;
        index[i] = (unsigned int)(pos + 1);
    }
    return 0;
}

/* RecentKeys.put(key, value) */
static int
parts_put(Parts *p, unsigned long long key, long long value)
{
    unsigned long long k1 = key + 1;
    size_t slot;
    Py_ssize_t pos = parts_find(p, k1, &slot);
    if (p->n == p->cap) {
        /* grown as array.array grows (a sixteenth more): the memory of recent.py's table */
        Py_ssize_t cap = p->n + (p->n >> 4) + (p->n < 8 ? 3 : 7) + 1;
        unsigned long long *keys = PyMem_Realloc(p->keys, (size_t)cap * sizeof(*keys));
        if (keys == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        p->keys = keys;
        long long *values = PyMem_Realloc(p->values, (size_t)cap * sizeof(*values));
        if (values == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        p->values = values;
        p->cap = cap;
    }
    if (pos >= 0) {
        p->keys[pos] = 0; /* its old place is dead; its index slot points at the new one */
        p->live--;
    }
    p->keys[p->n] = k1;
    p->values[p->n] = value;
    p->n++;
    p->index[slot] = (unsigned int)p->n;
    p->live++;
    if (p->live > p->limit)
        return parts_drop(p, p->live - p->limit + (p->limit >> 4));
    if (p->n > 2 * p->limit)
        return parts_drop(p, 0); /* only dead places to clear */
    if (2 * (size_t)p->live > p->mask) {
        p->mask = 2 * p->mask + 1;
        return parts_drop(p, 0);
    }
    return 0;
}

/* RecentKeys.get(key, 0) */
static long long
parts_get(const Parts *p, unsigned long long key)
{
    size_t slot;
    Py_ssize_t pos = parts_find(p, key + 1, &slot);
    return pos >= 0 ? p->values[pos] : 0;
}

#define ST_KINDS 8

typedef struct {
    PyObject_HEAD
    PyObject *groups;             /* dict: Call-ID -> SGroup */
    SGroup *head[2], *tail[2];    /* least recently active first */
    PyObject *fn[TF_COUNT];       /* what __init__ was given (strong) */
    PyObject *quiet_obj, *settle_obj;
    double quiet, settle, now;
    int has_quiet, by_frame;
    Py_ssize_t max_held, held;
    long long arrivals, early;
    Py_ssize_t time_off, frame_off; /* of SipMessage's slots, -1: by name */
    Parts parts;                    /* the emitted Call-IDs' parts */
    /* sip/message.py's _VIEW_LOWER and _VIEW_SCANNED (st_event_values); NULL: not given */
    PyObject *view_lower, *view_scanned;
    /* Counting mode (count=True, st_count): part-1 sessions counted per kind (st_kind_names)
     * and retransmissions of the groups counted instead of emitted. */
    int count_only;
    long long counted[ST_KINDS], counted_rt;
    /* The view names (view_lower's keys) that map to "event", lower-cased, for st_count's
     * read of the Event header; event_names_n -1: not known (st_count leaves it to st_emit). */
    unsigned char event_names[4][SCAN_NAME_LEN];
    Py_ssize_t event_name_len[4];
    int event_names_n;
} STable;

static const char *const st_kind_names[ST_KINDS] = {
    "other", "registration", "im", "options", "negotiate", "service", "presence", "subscription"};

static struct {
    int ready;
    PyObject *time, *frame, *call_id, *part, *kind, *sort, *key, *no_call_id, *invite,
        *subscribe, *bye, *ack, *benotify, *kw_part, *kw_key, *event;
    PyObject *kinds[ST_KINDS];
} st_s;

static int
st_strings(void)
{
    if (st_s.ready)
        return 0;
    struct {
        PyObject **p;
        const char *s;
    } names[] = {
        {&st_s.time, "time"},       {&st_s.frame, "frame"},     {&st_s.call_id, "call_id"},
        {&st_s.part, "part"},
        {&st_s.kind, "kind"},       {&st_s.sort, "sort"},       {&st_s.key, "key"},
        {&st_s.no_call_id, "(no Call-ID)"},                     {&st_s.invite, "INVITE"},
        {&st_s.subscribe, "SUBSCRIBE"},                         {&st_s.bye, "BYE"},
        {&st_s.event, "event"},
        {&st_s.ack, "ACK"},         {&st_s.benotify, "BENOTIFY"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((*names[i].p = PyUnicode_InternFromString(names[i].s)) == NULL)
            return -1;
    for (int i = 0; i < ST_KINDS; i++)
        if ((st_s.kinds[i] = PyUnicode_InternFromString(st_kind_names[i])) == NULL)
            return -1;
    if ((st_s.kw_part = PyTuple_Pack(1, st_s.part)) == NULL ||
        (st_s.kw_key = PyTuple_Pack(1, st_s.key)) == NULL)
        return -1;
    st_s.ready = 1;
    return 0;
}

static void
st_unlink(STable *t, SGroup *g)
{
    int q = g->queue;
    if (q < 0)
        return;
    if (g->prev != NULL)
        g->prev->next = g->next;
    else
        t->head[q] = g->next;
    if (g->next != NULL)
        g->next->prev = g->prev;
    else
        t->tail[q] = g->prev;
    g->prev = g->next = NULL;
    g->queue = -1;
}

static void
st_append(STable *t, SGroup *g, int q)
{
    g->queue = q;
    g->next = NULL;
    g->prev = t->tail[q];
    if (t->tail[q] != NULL)
        t->tail[q]->next = g;
    else
        t->head[q] = g;
    t->tail[q] = g;
}

/* Take g off its queue and out of the dict; returns the reference the dict held. */
static SGroup *
st_take(STable *t, SGroup *g)
{
    st_unlink(t, g);
    Py_INCREF(g);
    if (PyDict_DelItem(t->groups, g->call_id) < 0) {
        /* Not there (cannot happen while the invariant holds): keep going without it. */
        PyErr_Clear();
        return g;
    }
    return g;
}

/* Release every group (dealloc, __init__ again, clear). */
static void
st_clear(STable *t)
{
    t->head[0] = t->head[1] = t->tail[0] = t->tail[1] = NULL;
    if (t->groups != NULL)
        PyDict_Clear(t->groups);
}

/* A message's field: its slot for the exact SipMessage class, else getattr. */
static inline PyObject *
st_field(STable *t, PyObject *m, Py_ssize_t off, PyObject *name)
{
    return slot_or_attr(m, (PyTypeObject *)t->fn[TF_MSG], off, name);
}

/* m.call_id or "(no Call-ID)": values[0].strip() of the parse-time index's Call-ID values,
 * as the property reads them, when they are there; else the property. */
static PyObject *
st_call_id(STable *t, PyObject *m)
{
    PyObject *value = NULL;
    PyObject *index = match_peek(m, MS_INDEX);
    if (index != NULL && PyDict_CheckExact(index)) {
        PyObject *values = PyDict_GetItemWithError(index, sip_keys[0]);
        if (values == NULL && PyErr_Occurred())
            return NULL;
        if (values != NULL && PyTuple_CheckExact(values)) {
            if (PyTuple_GET_SIZE(values) == 0) {
                value = Py_NewRef(Py_None);
            } else {
                PyObject *v = PyTuple_GET_ITEM(values, 0);
                if (PyUnicode_CheckExact(v)) {
                    Py_ssize_t n = PyUnicode_GET_LENGTH(v);
                    if (n == 0 ||
                        (!Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(v, 0)) &&
                         !Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(v, n - 1))))
                        value = Py_NewRef(v); /* what strip() returns */
                }
            }
        }
    }
    if (value == NULL) {
        value = PyObject_GetAttr(m, st_s.call_id);
        if (value == NULL)
            return NULL;
    }
    int truth = PyObject_IsTrue(value);
    if (truth < 0) {
        Py_DECREF(value);
        return NULL;
    }
    if (!truth)
        Py_SETREF(value, Py_NewRef(st_s.no_call_id));
    return value;
}

static int
st_eq(PyObject *a, PyObject *b)
{
    if (a == b)
        return 1;
    if (PyUnicode_CheckExact(a) && PyUnicode_CheckExact(b))
        return PyUnicode_Compare(a, b) == 0;
    return PyObject_RichCompareBool(a, b, Py_EQ);
}

/* x >= bound (x an int object, as a status is): -1 on error */
static int
st_ge(PyObject *x, long bound)
{
    if (PyLong_CheckExact(x)) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(x, &overflow);
        if (overflow)
            return overflow > 0;
        if (v == -1 && PyErr_Occurred())
            return -1;
        return v >= bound;
    }
    PyObject *b = PyLong_FromLong(bound);
    if (b == NULL)
        return -1;
    int r = PyObject_RichCompareBool(x, b, Py_GE);
    Py_DECREF(b);
    return r;
}

/* recent.text_key(call_id): hash(call_id) & (2**60 - 1); -1 on error */
static long long
st_text_key(PyObject *call_id)
{
    Py_hash_t h = PyObject_Hash(call_id);
    if (h == -1 && PyErr_Occurred())
        return -1;
    return (long long)((unsigned long long)h & ((1ULL << 60) - 1));
}

/* The start both Event readers share (st_event_values, st_count_event_values): 1 with *out
 * (a new reference; NULL with an exception on an error) when the message's index answers
 * already: its Event values, or () when it knows there are none; 0 when the header block is to
 * be scanned (*index, *buf, *hstart, *hend and *lookups set, borrowed); -1 when the Python
 * must answer (with an exception on an error, without one otherwise). */
static int
st_event_head(STable *t, PyObject *m, PyObject **out, PyObject **index_out, PyObject **buf_out,
              PyObject **hstart_out, PyObject **hend_out, PyObject **lookups_out)
{
    *out = NULL;
    if (t->view_lower == NULL || !mk.ready || Py_TYPE(m) != mk.type)
        return -1;
    PyObject *index = slot_at(m, mk.off[MK_INDEX]);
    if (index == NULL || (index != Py_None && !PyDict_CheckExact(index)))
        return -1;
    if (index != Py_None) {
        PyObject *found = PyDict_GetItemWithError(index, st_s.event);
        if (found != NULL) {
            *out = Py_NewRef(found);
            return 1;
        }
        if (PyErr_Occurred())
            return -1;
        PyObject *complete = slot_at(m, mk.off[MK_COMPLETE]);
        if (complete == NULL)
            return -1;
        int full = PyObject_IsTrue(complete);
        if (full < 0)
            return -1;
        if (full) {
            *out = PyTuple_New(0);
            return 1;
        }
    }
    PyObject *buf = slot_at(m, mk.off[MK_BUF]), *headers = slot_at(m, mk.off[MK_HEADERS]);
    PyObject *hstart = slot_at(m, mk.off[MK_HSTART]), *hend = slot_at(m, mk.off[MK_HEND]);
    PyObject *lookups = slot_at(m, mk.off[MK_LOOKUPS]);
    if (buf == NULL || !PyBytes_CheckExact(buf) || headers != Py_None || hstart == NULL ||
        hend == NULL || lookups == NULL || !PyLong_CheckExact(lookups))
        return -1;
    if (index != Py_None) {
        int scanned = PyDict_Contains(index, t->view_scanned);
        if (scanned < 0)
            return -1;
        if (scanned) {
            *out = PyTuple_New(0);
            return 1;
        }
    }
    *index_out = index;
    *buf_out = buf;
    *hstart_out = hstart;
    *hend_out = hend;
    *lookups_out = lookups;
    return 0;
}

/* What first._values("event") gives (a new reference), when first is a SipMessage whose
 * index holds the answer or that _view_values would scan for it: the scan is made here as
 * _view_values makes it (the index made if need be, _VIEW_SCANNED noted in it, the view
 * headers added, _lookups + 1). NULL without an exception: the Python must answer (another
 * class, a message parsed whole, not given the view names); NULL with one on an error. */
static PyObject *
st_event_values(STable *t, PyObject *m)
{
    PyObject *known, *index, *buf, *hstart, *hend, *lookups;
    int at = st_event_head(t, m, &known, &index, &buf, &hstart, &hend, &lookups);
    if (at != 0)
        return known; /* (NULL when the Python must answer or on an error) */
    long count = PyLong_AsLong(lookups);
    if (count == -1 && PyErr_Occurred())
        return NULL;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return NULL;
    if (index == Py_None) {
        PyObject *made = PyDict_New();
        if (made == NULL) {
            Py_DECREF(empty);
            return NULL;
        }
        mk_set(m, MK_INDEX, made);
        Py_DECREF(made);
        index = made; /* (the slot's reference) */
    }
    Py_INCREF(index);
    PyObject *values = NULL;
    if (PyDict_SetItem(index, t->view_scanned, empty) == 0) {
        PyObject *args[5] = {buf, hstart, hend, t->view_lower, index};
        PyObject *r = fast_sip_header_scan(NULL, args, 5);
        PyObject *next = r != NULL ? PyLong_FromLong(count + 1) : NULL;
        Py_XDECREF(r);
        if (next != NULL) {
            mk_set(m, MK_LOOKUPS, next);
            Py_DECREF(next);
            values = PyDict_GetItemWithError(index, st_s.event);
            if (values != NULL)
                Py_INCREF(values);
            else if (!PyErr_Occurred())
                values = Py_NewRef(empty);
        }
    }
    Py_DECREF(index);
    Py_DECREF(empty);
    return values;
}

/* The kind _kind names from the Event values of an event package's first request (a new
 * reference, values given up): 6 (presence) or 7 (subscription); -1 when the Python must
 * answer (a value not plain ASCII, not a tuple). */
static int
st_event_kind_of(PyObject *values)
{
    static const char *const presence[] = {
        "presence", "presence.wpending", "vnd-microsoft-roaming-self",
        "vnd-microsoft-roaming-contacts", "vnd-microsoft-roaming-acl",
        "vnd-microsoft-provisioning", "vnd-microsoft-provisioning-v2"};
    int kind = -1;
    if (PyTuple_CheckExact(values) && PyTuple_GET_SIZE(values) == 0) {
        kind = 7; /* no Event: "" */
    } else if (PyTuple_CheckExact(values) && PyUnicode_CheckExact(PyTuple_GET_ITEM(values, 0)) &&
               PyUnicode_IS_ASCII(PyTuple_GET_ITEM(values, 0))) {
        /* value.split(";")[0].strip().lower() */
        PyObject *v = PyTuple_GET_ITEM(values, 0);
        const unsigned char *p = PyUnicode_1BYTE_DATA(v);
        Py_ssize_t n = PyUnicode_GET_LENGTH(v), a = 0, b;
        const unsigned char *semi = memchr(p, ';', (size_t)n);
        b = semi != NULL ? semi - p : n;
        while (a < b && Py_UNICODE_ISSPACE(p[a]))
            a++;
        while (b > a && Py_UNICODE_ISSPACE(p[b - 1]))
            b--;
        kind = 7;
        for (size_t i = 0; i < sizeof(presence) / sizeof(presence[0]) && kind == 7; i++) {
            size_t len = strlen(presence[i]);
            if ((size_t)(b - a) != len)
                continue;
            size_t j = 0;
            for (; j < len; j++) {
                unsigned char c = p[a + (Py_ssize_t)j];
                if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)presence[i][j])
                    break;
            }
            if (j == len)
                kind = 6;
        }
    }
    Py_DECREF(values);
    return kind;
}

/* The kind of a session whose first request is of an event package (SUBSCRIBE, NOTIFY,
 * BENOTIFY, PUBLISH), as _kind reads its Event header: 6 (presence) or 7 (subscription);
 * -1 when the Python must answer (st_event_values could not, a value not plain ASCII);
 * -2 on an error. */
static int
st_event_kind(STable *t, PyObject *first)
{
    PyObject *values = st_event_values(t, first);
    if (values == NULL)
        return PyErr_Occurred() ? -2 : -1;
    return st_event_kind_of(values);
}

/* What st_event_values would give for m (a new reference), read without changing m: from
 * its index, or by a scan of its header block for the Event spellings only, as
 * sip_header_scan scans (counting mode drops a counted message; a group it does not count
 * is read by st_event_values as always). NULL (never with an exception) when it cannot
 * tell: the cases st_event_values leaves to the Python, a header block that is not all
 * ASCII (the scan could fail to decode a value), an error. */
static PyObject *
st_count_event_values(STable *t, PyObject *m)
{
    if (t->event_names_n < 0)
        return NULL;
    PyObject *known, *index, *buf, *hstart, *hend, *lookups;
    int at = st_event_head(t, m, &known, &index, &buf, &hstart, &hend, &lookups);
    if (at != 0) {
        if (known == NULL)
            PyErr_Clear(); /* (never with an exception: see above) */
        return known;
    }
    (void)index;
    (void)lookups;
    /* sip_header_scan's loop (see there), for the Event spellings only */
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(buf);
    Py_ssize_t n = PyBytes_GET_SIZE(buf);
    Py_ssize_t start = PyLong_AsSsize_t(hstart), end = PyLong_AsSsize_t(hend);
    if ((start == -1 || end == -1) && PyErr_Occurred())
        goto fail;
    if (start < 0)
        start = 0;
    if (end > n)
        end = n;
    {
        uint64_t high = 0; /* any byte >= 0x80, eight at a time */
        Py_ssize_t i = start;
        for (; i + 8 <= end; i += 8) {
            uint64_t w;
            memcpy(&w, d + i, 8);
            high |= w;
        }
        high &= 0x8080808080808080ULL;
        for (; i < end; i++)
            high |= d[i] & 0x80;
        if (high)
            return NULL;
    }
    PyObject *values = PyTuple_New(0);
    if (values == NULL)
        goto fail;
    const unsigned char *cur = d + start, *e = d + end;
    while (cur < e) {
        const unsigned char *lf = memchr(cur, '\n', (size_t)(e - cur));
        if (lf == NULL)
            break;
        cur = lf + 1;
        Py_ssize_t a = cur - d;
        if (a >= end)
            continue;
        Py_ssize_t p = scan_name_end(d, a, end), len = p - a;
        int named = 0;
        for (int k = 0; k < t->event_names_n && !named; k++)
            named = t->event_name_len[k] == len &&
                    scan_name_is(d, a, len, t->event_names[k]);
        Py_ssize_t v, v_end;
        const unsigned char *vl;
        if (!named || !scan_value(d, p, end, &v, &v_end, &vl))
            continue;
        PyObject *value = PyUnicode_DecodeASCII((const char *)d + v, v_end - v, NULL);
        Py_ssize_t k = PyTuple_GET_SIZE(values);
        PyObject *more = value != NULL ? PyTuple_New(k + 1) : NULL;
        if (more == NULL) {
            Py_XDECREF(value);
            Py_DECREF(values);
            goto fail;
        }
        for (Py_ssize_t j = 0; j < k; j++)
            PyTuple_SET_ITEM(more, j, Py_NewRef(PyTuple_GET_ITEM(values, j)));
        PyTuple_SET_ITEM(more, k, value);
        Py_SETREF(values, more);
        cur = d + (vl == NULL ? end : (vl - d));
    }
    return values;
fail:
    PyErr_Clear();
    return NULL;
}

/* _kind(first, invite) as an index of st_kind_names, for a first request whose kind needs
 * neither its headers nor its body, or only its Event header (st_event_kind); -1 when the
 * Python must answer (INVITE, an Event value st_event_kind leaves to it, a method that is not
 * a str); -2 on an error. */
static int
st_kind_index(STable *t, PyObject *first, int invite, int counting)
{
    static const struct {
        const char *method;
        int kind; /* in st_kind_names; -1: the Python, -3: the Event header */
    } plain[] = {
        {"REGISTER", 1}, {"MESSAGE", 2}, {"OPTIONS", 3}, {"NEGOTIATE", 4}, {"SERVICE", 5},
        {"INVITE", -1},  {"SUBSCRIBE", -3}, {"NOTIFY", -3}, {"BENOTIFY", -3}, {"PUBLISH", -3},
    };
    int kind = 0; /* other */
    if (first != Py_None) {
        PyObject *method = match_get(first, MS_METHOD);
        if (method == NULL)
            return -2;
        if (method != Py_None && !PyUnicode_CheckExact(method)) {
            kind = -1;
        } else if (method != Py_None) {
            if (PyUnicode_CompareWithASCIIString(method, "INFO") == 0)
                kind = invite ? 0 : 2;
            for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
                if (PyUnicode_CompareWithASCIIString(method, plain[i].method) == 0) {
                    kind = plain[i].kind;
                    break;
                }
        }
        Py_DECREF(method);
    }
    if (kind == -3 && counting) {
        PyObject *values = st_count_event_values(t, first);
        kind = values != NULL ? st_event_kind_of(values) : -1;
    } else if (kind == -3) {
        kind = st_event_kind(t, first);
    }
    return kind;
}

/* _kind(first, invite) (found: sip_match's answer, (first request, any INVITE)): in C when
 * st_kind_index can tell, else the Python. */
static PyObject *
st_kind(STable *t, PyObject *found)
{
    int kind =
        st_kind_index(t, PyTuple_GET_ITEM(found, 0), PyTuple_GET_ITEM(found, 1) == Py_True, 0);
    if (kind == -2)
        return NULL;
    if (kind < 0)
        return PyObject_Call(t->fn[TF_KIND], found, NULL);
    return Py_NewRef(st_s.kinds[kind]);
}

/* The frame sort of _emit: messages.sort(key=_frame_key) (m.frame or 0), stable. In C when
 * every key is an int that fits a long long; else list.sort with the Python key. */
typedef struct {
    long long key;
    Py_ssize_t pos;
} FrameKey;

static int
st_frame_cmp(const void *a, const void *b)
{
    const FrameKey *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

static int
st_sort(STable *t, PyObject *messages)
{
    Py_ssize_t n = PyList_GET_SIZE(messages);
    if (n < 2)
        return 0;
    FrameKey *keys = PyMem_Malloc((size_t)n * sizeof(FrameKey));
    if (keys == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int ok = 1, sorted = 1;
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        PyObject *f = st_field(t, PyList_GET_ITEM(messages, i), t->frame_off, st_s.frame);
        if (f == NULL) {
            PyMem_Free(keys);
            return -1;
        }
        long long k = 0;
        if (f == Py_None) {
            k = 0;
        } else if (PyLong_CheckExact(f)) {
            int overflow;
            k = PyLong_AsLongLongAndOverflow(f, &overflow);
            if (overflow || (k == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                ok = 0;
            }
        } else {
            ok = 0;
        }
        Py_DECREF(f);
        keys[i].key = k;
        keys[i].pos = i;
        if (i > 0 && k < keys[i - 1].key)
            sorted = 0;
    }
    if (!ok) {
        PyMem_Free(keys);
        PyObject *args[2] = {messages, t->fn[TF_FRAME_KEY]};
        PyObject *r = PyObject_VectorcallMethod(st_s.sort, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                                st_s.kw_key);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        return 0;
    }
    if (!sorted) {
        qsort(keys, (size_t)n, sizeof(FrameKey), st_frame_cmp);
        PyObject **items = PyMem_Malloc((size_t)n * sizeof(PyObject *));
        if (items == NULL) {
            PyMem_Free(keys);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            items[i] = PyList_GET_ITEM(messages, keys[i].pos);
        for (Py_ssize_t i = 0; i < n; i++)
            PyList_SET_ITEM(messages, i, items[i]); /* a permutation: references stay */
        PyMem_Free(items);
    }
    PyMem_Free(keys);
    return 0;
}

/* The top Via branch of m (a SipMessage) as match_branch reads it, when reading it notes
 * nothing: its Via list read already, or the index's Via values all plain (sip_top_branch).
 * A new reference; NULL without an exception: it could note something (st_count gives the
 * group to st_emit); NULL with one on an error. */
static PyObject *
st_count_branch(PyObject *m)
{
    PyObject *via = slot_at(m, mk.off[MK_VIA]);
    if (via == NULL)
        return NULL;
    if (via != mk.unset)
        return PyObject_GetAttr(m, mt.top_branch); /* vias[0].branch: nothing noted */
    PyObject *index = slot_at(m, mk.off[MK_INDEX]);
    if (index == NULL || !PyDict_CheckExact(index))
        return NULL;
    PyObject *values = PyDict_GetItemWithError(index, sip_keys[2]);
    if (values == NULL || values == Py_None)
        return NULL;
    PyObject *found = fast_sip_top_branch(NULL, values);
    if (found == Py_False) {
        Py_DECREF(found);
        return NULL;
    }
    return found;
}

/* Whether m's To tag can be read without noting anything: its To built already (or absent),
 * not only checked (building it could note a problem) nor unread. */
static int
st_count_tag_ready(PyObject *m)
{
    PyObject *to = slot_at(m, mk.off[MK_TO]);
    return to != NULL && to != mk.unset && to != mk.checked;
}

/* A response whose transaction holds kept (a list): 1 when a kept response is the same one
 * again (match_response_again's test), 0 when not, 2 when telling needs a To tag that cannot
 * be read without noting something, -1 on an error. */
static int
st_count_again(PyObject *m, PyObject *kept)
{
    PyObject *status = slot_at(m, mk.off[MK_STATUS]);
    PyObject *src = slot_at(m, mk.off[MK_SRC]), *dst = slot_at(m, mk.off[MK_DST]);
    if (status == NULL || src == NULL || dst == NULL)
        return 2;
    int truth = PyObject_IsTrue(status);
    if (truth < 0)
        return -1;
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL)
        return -1;
    if (!truth)
        status = zero;
    PyObject *tag = NULL;
    int again = 0;
    for (Py_ssize_t i = 0; again == 0 && i < PyList_GET_SIZE(kept); i++) {
        PyObject *r = PyList_GET_ITEM(kept, i);
        PyObject *rs = slot_at(r, mk.off[MK_STATUS]);
        PyObject *rsrc = slot_at(r, mk.off[MK_SRC]), *rdst = slot_at(r, mk.off[MK_DST]);
        if (rs == NULL || rsrc == NULL || rdst == NULL) {
            again = 2;
            break;
        }
        int t = PyObject_IsTrue(rs);
        if (t < 0) {
            again = -1;
            break;
        }
        int same = PyObject_RichCompareBool(t ? rs : zero, status, Py_EQ);
        if (same > 0)
            same = PyObject_RichCompareBool(rsrc, src, Py_EQ);
        if (same > 0)
            same = PyObject_RichCompareBool(rdst, dst, Py_EQ);
        if (same > 0) {
            if (!st_count_tag_ready(m) || !st_count_tag_ready(r)) {
                again = 2;
                break;
            }
            if (tag == NULL && (tag = match_to_tag(m)) == NULL) {
                again = -1;
                break;
            }
            PyObject *rtag = match_to_tag(r);
            same = rtag != NULL ? PyObject_RichCompareBool(rtag, tag, Py_EQ) : -1;
            Py_XDECREF(rtag);
            if (same > 0)
                again = 1;
        }
        if (same < 0)
            again = -1;
    }
    Py_XDECREF(tag);
    Py_DECREF(zero);
    return again;
}

/* Counting mode: the group (sorted, held already taken off) counted instead of emitted, when
 * nothing but its kind and retransmissions can be asked of it: its kind is decided here and
 * is not a call (nor left to the Python), no message has From/To to note or defects to take
 * (sip_to_note would give none), and matching it (fast_sip_match's keys, seen-set and
 * response test, without Transaction objects) reads nothing that could note a defect.
 * Nothing of a message is changed before that is known. 1: counted (the kind's counter when
 * it is a first part, the retransmissions, the part remembered as st_emit does); 0: st_emit
 * must build it; -1 on an error. */
static int
st_count(STable *t, SGroup *g)
{
    PyObject *messages = g->messages;
    Py_ssize_t n = PyList_GET_SIZE(messages);
    if (!mk.ready || mt.msg_type != mk.type)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *m = PyList_GET_ITEM(messages, i);
        if (!mk_settled(m))
            return 0;
        PyObject *cseq = slot_at(m, mk.off[MK_CSEQ]);
        if (cseq == NULL || cseq == mk.unset ||
            (cseq != Py_None && (!PyTuple_CheckExact(cseq) || PyTuple_GET_SIZE(cseq) != 2)))
            return 0;
    }
    PyObject *transactions = NULL, *requests = NULL, *seen = NULL, *first = NULL;
    int invite = 0, rc = -1;
    long long retransmissions = 0;
    if ((transactions = PyDict_New()) == NULL || (requests = PyList_New(0)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *m = PyList_GET_ITEM(messages, i);
        PyObject *method = slot_at(m, mk.off[MK_METHOD]);
        PyObject *cseq = slot_at(m, mk.off[MK_CSEQ]);
        if (method == NULL || (method != Py_None && !PyUnicode_CheckExact(method))) {
            rc = 0;
            goto done;
        }
        int named = method != Py_None && PyUnicode_GET_LENGTH(method) > 0;
        if (named) {
            if (first == NULL)
                first = m;
            if (PyUnicode_CompareWithASCIIString(method, "INVITE") == 0)
                invite = 1;
        }
        if (cseq == Py_None)
            continue;
        PyObject *num = PyTuple_GET_ITEM(cseq, 0), *cmethod = PyTuple_GET_ITEM(cseq, 1);
        PyObject *branch = st_count_branch(m);
        if (branch == NULL) {
            rc = PyErr_Occurred() ? -1 : 0;
            goto done;
        }
        PyObject *branch_key = Py_None;
        if (branch != Py_None) {
            if (!PyUnicode_Check(branch)) {
                Py_DECREF(branch);
                rc = 0;
                goto done;
            }
            Py_ssize_t cookie = PyUnicode_GET_LENGTH(branch) > 0
                                    ? PyUnicode_Tailmatch(branch, mt.cookie, 0, PY_SSIZE_T_MAX, -1)
                                    : 0;
            if (cookie < 0) {
                Py_DECREF(branch);
                goto done;
            }
            if (cookie)
                branch_key = branch;
        }
        PyObject *key = PyTuple_Pack(3, branch_key, num, cmethod);
        if (key == NULL) {
            Py_DECREF(branch);
            goto done;
        }
        PyObject *kept = PyDict_GetItemWithError(transactions, key); /* borrowed */
        int step = 0; /* 0: go on, 1: a retransmission, -1: an error, 2: build it */
        if (kept == NULL && PyErr_Occurred()) {
            step = -1;
        } else if (method != Py_None) {
            PyObject *src = slot_at(m, mk.off[MK_SRC]), *dst = slot_at(m, mk.off[MK_DST]);
            PyObject *seen_key = src != NULL && dst != NULL
                                     ? PyTuple_Pack(5, branch_key, num, named ? method : cmethod,
                                                    src, dst)
                                     : NULL;
            if (seen_key == NULL) {
                step = src != NULL && dst != NULL ? -1 : 2;
            } else {
                if (kept != NULL && seen == NULL && (seen = PySet_New(requests)) == NULL)
                    step = -1;
                if (step == 0 && seen == NULL) {
                    step = PyList_Append(requests, seen_key) < 0 ? -1 : 0;
                } else if (step == 0) {
                    int in = kept != NULL ? PySet_Contains(seen, seen_key) : 0;
                    step = in < 0 ? -1 : in ? 1 : PySet_Add(seen, seen_key) < 0 ? -1 : 0;
                }
                Py_DECREF(seen_key);
            }
            if (step == 0 && kept == NULL) {
                PyObject *list = PyList_New(0);
                if (list == NULL || PyDict_SetItem(transactions, key, list) < 0)
                    step = -1;
                Py_XDECREF(list);
            }
        } else {
            /* A response: its To was read (settled), so matching notes nothing of it. */
            if (kept == NULL) {
                PyObject *list = PyList_New(0);
                if (list == NULL || PyDict_SetItem(transactions, key, list) < 0)
                    step = -1;
                kept = list; /* the dict's */
                Py_XDECREF(list);
            } else {
                step = st_count_again(m, kept);
            }
            if (step == 0 && PyList_Append(kept, m) < 0)
                step = -1;
        }
        Py_DECREF(key);
        Py_DECREF(branch);
        if (step == 1) {
            retransmissions++;
        } else if (step == 2) {
            rc = 0;
            goto done;
        } else if (step < 0) {
            goto done;
        }
    }
    int kind = st_kind_index(t, first != NULL ? first : Py_None, invite, 1);
    if (kind == -2)
        goto done;
    if (kind < 0) {
        rc = 0;
        goto done;
    }
    if (t->has_quiet) {
        long long key = st_text_key(g->call_id);
        if (key < 0 || parts_put(&t->parts, (unsigned long long)key, g->part) < 0)
            goto done;
    }
    if (g->part == 1)
        t->counted[kind]++;
    t->counted_rt += retransmissions;
    rc = 1;
done:
    Py_XDECREF(seen);
    Py_XDECREF(requests);
    Py_XDECREF(transactions);
    return rc;
}

/* _emit: the group (taken: off its queue, out of the dict) as a matched, classified Session;
 * None when counting mode counted it instead (st_count). Steals the reference to g. */
static PyObject *
st_emit(STable *t, SGroup *g)
{
    PyObject *session = NULL, *part = NULL, *found = NULL, *kind = NULL;
    PyObject *messages = g->messages;
    t->held -= PyList_GET_SIZE(messages);
    if (t->by_frame && st_sort(t, messages) < 0)
        goto done;
    if (t->count_only) {
        int counted = st_count(t, g);
        if (counted < 0)
            goto done;
        if (counted) {
            session = Py_NewRef(Py_None);
            goto done;
        }
    }
    part = PyLong_FromLongLong(g->part);
    if (part == NULL)
        goto done;
    PyObject *args[4] = {NULL, g->call_id, messages, part};
    session = PyObject_Vectorcall(t->fn[TF_SESSION], args + 1,
                                  2 | PY_VECTORCALL_ARGUMENTS_OFFSET, st_s.kw_part);
    if (session == NULL)
        goto done;
    PyObject *margs[5] = {session, messages, t->fn[TF_TXN], t->fn[TF_MSG], t->fn[TF_UNSET]};
    found = fast_sip_match(NULL, margs, 5);
    if (found == NULL)
        goto fail;
    kind = st_kind(t, found);
    if (kind == NULL || PyObject_SetAttr(session, st_s.kind, kind) < 0)
        goto fail;
    if (t->has_quiet) {
        long long key = st_text_key(g->call_id);
        if (key < 0 || parts_put(&t->parts, (unsigned long long)key, g->part) < 0)
            goto fail;
    }
    goto done;
fail:
    Py_CLEAR(session);
done:
    Py_XDECREF(kind);
    Py_XDECREF(found);
    Py_XDECREF(part);
    Py_DECREF(g);
    return session;
}

/* Emit g into out; steals g. */
static int
st_emit_into(STable *t, SGroup *g, PyObject *out)
{
    PyObject *s = st_emit(t, g);
    if (s == NULL)
        return -1;
    int rc = s != Py_None ? PyList_Append(out, s) : 0;
    Py_DECREF(s);
    return rc;
}

/* _expired: the queues' heads that have gone quiet, into out. */
static int
st_expired(STable *t, PyObject *out)
{
    double now = t->now, limit = now - t->settle;
    while (t->head[0] != NULL && !(t->head[0]->last_time >= limit))
        if (st_emit_into(t, st_take(t, t->head[0]), out) < 0)
            return -1;
    limit = now - t->quiet;
    while (t->head[1] != NULL && !(t->head[1]->last_time >= limit)) {
        SGroup *g = t->head[1];
        if (g->held) {
            /* A call in progress: it waits for its BYE (or the end), at the back. */
            st_unlink(t, g);
            st_append(t, g, 1);
            g->last_time = now;
            continue;
        }
        if (st_emit_into(t, st_take(t, g), out) < 0)
            return -1;
    }
    return 0;
}

static Py_ssize_t
st_len(STable *t)
{
    return t->groups != NULL ? PyDict_GET_SIZE(t->groups) : 0;
}

/* _evict: past max_held, the least recently active groups, into out. */
static int
st_evict(STable *t, PyObject *out)
{
    while (t->held > t->max_held && st_len(t) > 1) {
        SGroup *a = t->head[0], *b = t->head[1];
        SGroup *g = (b == NULL || (a != NULL && a->last_time <= b->last_time)) ? a : b;
        t->early++;
        if (st_emit_into(t, st_take(t, g), out) < 0)
            return -1;
    }
    return 0;
}

/* x as a double (a capture time) */
static int
st_double(PyObject *x, double *out)
{
    if (PyFloat_CheckExact(x)) {
        *out = PyFloat_AS_DOUBLE(x);
        return 0;
    }
    double d = PyFloat_AsDouble(x);
    if (d == -1.0 && PyErr_Occurred())
        return -1;
    *out = d;
    return 0;
}

/* The group's flags for message m (SessionBuilder.add after the group is found). */
static int
st_note(STable *t, SGroup *g, PyObject *m)
{
    PyObject *cseq = NULL, *method = NULL, *cmethod = NULL, *status = NULL;
    int rc = -1;
    cseq = match_cseq(m, t->fn[TF_UNSET]);
    if (cseq == NULL)
        goto done;
    if (cseq != Py_None) {
        if (PyTuple_CheckExact(cseq) && PyTuple_GET_SIZE(cseq) == 2)
            cmethod = Py_NewRef(PyTuple_GET_ITEM(cseq, 1));
        else if ((cmethod = PySequence_GetItem(cseq, 1)) == NULL)
            goto done;
    }
    method = match_get(m, MS_METHOD);
    if (method == NULL)
        goto done;
    if (cmethod != NULL && !g->may_call) {
        int eq = st_eq(cmethod, st_s.invite);
        if (eq < 0)
            goto done;
        if (eq) {
            int is_invite = method != Py_None ? st_eq(method, st_s.invite) : 0;
            if (is_invite < 0)
                goto done;
            if (is_invite) {
                g->invite = 1;
                PyObject *im = PyObject_CallOneArg(t->fn[TF_IS_IM], m);
                if (im == NULL)
                    goto done;
                int truth = PyObject_IsTrue(im);
                Py_DECREF(im);
                if (truth < 0)
                    goto done;
                g->may_call = !truth;
            } else if (!g->invite) {
                g->may_call = 1;
            }
        }
    }
    if (method == Py_None) {
        status = match_get(m, MS_STATUS);
        if (status == NULL)
            goto done;
        int final = status != Py_None ? st_ge(status, 200) : 0;
        if (final < 0)
            goto done;
        if (final && cseq != Py_None) {
            if (g->waiting != NULL && PySet_Discard(g->waiting, cseq) < 0)
                goto done;
            int error = st_ge(status, 300);
            if (error < 0)
                goto done;
            if (!error) {
                int eq = st_eq(cmethod, st_s.invite);
                if (eq < 0)
                    goto done;
                if (eq) {
                    g->held = 1;
                } else {
                    eq = st_eq(cmethod, st_s.subscribe);
                    if (eq < 0)
                        goto done;
                    if (eq)
                        g->dialog = 1;
                }
            }
        }
    } else {
        int bye = st_eq(method, st_s.bye);
        if (bye < 0)
            goto done;
        if (bye)
            g->held = 0;
        if (cmethod != NULL) {
            int unanswered = st_eq(cmethod, st_s.ack);
            if (unanswered == 0)
                unanswered = st_eq(cmethod, st_s.benotify);
            if (unanswered < 0)
                goto done;
            if (!unanswered) {
                if (g->waiting == NULL && (g->waiting = PySet_New(NULL)) == NULL)
                    goto done;
                if (PySet_Add(g->waiting, cseq) < 0)
                    goto done;
            }
        }
    }
    rc = 0;
done:
    Py_XDECREF(status);
    Py_XDECREF(method);
    Py_XDECREF(cmethod);
    Py_XDECREF(cseq);
    return rc;
}

/* A new group for call_id (in the dict, on no queue yet); borrowed (the dict's). */
static SGroup *
st_new_group(STable *t, PyObject *call_id)
{
    long long part = 1;
    if (t->parts.live > 0) {
        long long key = st_text_key(call_id);
        if (key < 0)
            return NULL;
        part = parts_get(&t->parts, (unsigned long long)key) + 1;
    }
    SGroup *g = PyObject_New(SGroup, &SGroupType);
    if (g == NULL)
        return NULL;
    g->call_id = Py_NewRef(call_id);
    g->messages = PyList_New(0);
    g->waiting = NULL;
    g->prev = g->next = NULL;
    g->queue = -1;
    g->last_time = 0.0;
    g->order = t->arrivals;
    g->part = part;
    g->held = g->dialog = g->invite = g->may_call = 0;
    if (g->messages == NULL || PyDict_SetItem(t->groups, call_id, (PyObject *)g) < 0) {
        Py_DECREF(g);
        return NULL;
    }
    Py_DECREF(g); /* the dict's reference remains */
    return g;
}

static int
st_ready(STable *t)
{
    if (t->groups == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "SessionTable: __init__ was not called");
        return -1;
    }
    return 0;
}

/* add(m) -> [Session] */
static PyObject *
STable_add(STable *t, PyObject *m)
{
    if (st_ready(t) < 0)
        return NULL;
    PyObject *finished = PyList_New(0);
    if (finished == NULL)
        return NULL;
    PyObject *time = st_field(t, m, t->time_off, st_s.time);
    PyObject *call_id = NULL;
    if (time == NULL)
        goto fail;
    double tv = 0.0;
    int timed = time != Py_None;
    if (timed) {
        if (st_double(time, &tv) < 0)
            goto fail;
        if (tv > t->now) {
            t->now = tv;
            if (t->has_quiet &&
                ((t->head[0] != NULL && t->head[0]->last_time < tv - t->settle) ||
                 (t->head[1] != NULL && t->head[1]->last_time < tv - t->quiet)) &&
                st_expired(t, finished) < 0)
                goto fail;
        }
    }
    call_id = st_call_id(t, m);
    if (call_id == NULL)
        goto fail;
    SGroup *g = (SGroup *)PyDict_GetItemWithError(t->groups, call_id);
    if (g == NULL) {
        if (PyErr_Occurred() || (g = st_new_group(t, call_id)) == NULL)
            goto fail;
    } else {
        st_unlink(t, g);
    }
    t->arrivals++;
    if (PyList_Append(g->messages, m) < 0)
        goto drop;
    t->held++;
    if (timed && tv > g->last_time)
        g->last_time = tv;
    if (st_note(t, g, m) < 0)
        goto drop;
    /* Now the most recently active of its queue. */
    st_append(t, g, (g->waiting != NULL && PySet_GET_SIZE(g->waiting) > 0) || g->held ||
                        g->dialog);
    if (t->held > t->max_held && t->has_quiet && st_evict(t, finished) < 0)
        goto fail;
    Py_DECREF(call_id);
    Py_DECREF(time);
    return finished;
drop:
    /* As the Python, whose group was popped, the group is lost with the error. */
    Py_DECREF(st_take(t, g));
fail:
    Py_XDECREF(call_id);
    Py_XDECREF(time);
    Py_DECREF(finished);
    return NULL;
}

/* STable_add for mk_direct (t: an instance of a subclass of SessionTable that keeps add). */
static PyObject *
st_add_direct(PyObject *table, PyObject *m)
{
    return STable_add((STable *)table, m);
}

/* open_since(*, calls_only=True) -> float */
static PyObject *
STable_open_since(STable *t, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"calls_only", NULL};
    int calls_only = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$p:open_since", kwlist, &calls_only))
        return NULL;
    PyObject *best = PyFloat_FromDouble(t->now);
    if (best == NULL)
        return NULL;
    for (int q = 0; q < 2; q++) {
        for (SGroup *g = t->head[q]; g != NULL; g = g->next) {
            if (calls_only && !g->may_call)
                continue;
            PyObject *first = st_field(t, PyList_GET_ITEM(g->messages, 0), t->time_off,
                                       st_s.time);
            if (first == NULL) {
                Py_DECREF(best);
                return NULL;
            }
            int lt = first != Py_None ? PyObject_RichCompareBool(first, best, Py_LT) : 0;
            if (lt < 0) {
                Py_DECREF(first);
                Py_DECREF(best);
                return NULL;
            }
            if (lt)
                Py_SETREF(best, first);
            else
                Py_DECREF(first);
        }
    }
    return best;
}

/* advance(now) -> [Session] */
static PyObject *
STable_advance(STable *t, PyObject *arg)
{
    if (st_ready(t) < 0)
        return NULL;
    double now;
    if (st_double(arg, &now) < 0)
        return NULL;
    if (now > t->now)
        t->now = now;
    PyObject *out = PyList_New(0);
    if (out == NULL || !t->has_quiet || st_len(t) == 0)
        return out;
    if (st_expired(t, out) < 0)
        Py_CLEAR(out);
    return out;
}

static int
st_order_cmp(const void *a, const void *b)
{
    long long x = (*(SGroup *const *)a)->order, y = (*(SGroup *const *)b)->order;
    return x < y ? -1 : (x > y);
}

/* finish() -> [Session]: every open group, in order of its first message. */
static PyObject *
STable_finish(STable *t, PyObject *Py_UNUSED(ignored))
{
    if (st_ready(t) < 0)
        return NULL;
    Py_ssize_t n = st_len(t), k = 0;
    PyObject *out = PyList_New(0);
    if (out == NULL || n == 0)
        return out;
    SGroup **all = PyMem_Malloc((size_t)n * sizeof(SGroup *));
    if (all == NULL) {
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    for (int q = 0; q < 2; q++)
        for (SGroup *g = t->head[q]; g != NULL && k < n; g = g->next)
            all[k++] = (SGroup *)Py_NewRef(g);
    qsort(all, (size_t)k, sizeof(SGroup *), st_order_cmp);
    for (Py_ssize_t i = 0; i < k; i++)
        all[i]->queue = -1;
    st_clear(t);
    Py_ssize_t i = 0;
    for (; i < k; i++)
        if (st_emit_into(t, all[i], out) < 0)
            break;
    if (i < k) {
        for (i++; i < k; i++)
            Py_DECREF(all[i]);
        Py_CLEAR(out);
    }
    PyMem_Free(all);
    return out;
}

static Py_ssize_t
STable_length(STable *t)
{
    return st_len(t);
}

/* The spellings view_lower maps to "event" (lower-case bytes), for st_count_event_values;
 * event_names_n stays -1 when they do not fit (st_count then leaves the Event to st_emit). */
static void
st_event_names(STable *t)
{
    Py_ssize_t pos = 0;
    PyObject *name, *key;
    int count = 0;
    while (PyDict_Next(t->view_lower, &pos, &name, &key)) {
        if (!PyUnicode_CheckExact(key) || PyUnicode_CompareWithASCIIString(key, "event") != 0)
            continue;
        if (!PyBytes_CheckExact(name) || PyBytes_GET_SIZE(name) == 0 ||
            PyBytes_GET_SIZE(name) > SCAN_NAME_LEN || count == 4)
            return;
        const unsigned char *n = (const unsigned char *)PyBytes_AS_STRING(name);
        Py_ssize_t len = PyBytes_GET_SIZE(name);
        for (Py_ssize_t k = 0; k < len; k++)
            t->event_names[count][k] = n[k] >= 'A' && n[k] <= 'Z' ? n[k] + 32 : n[k];
        t->event_name_len[count] = len;
        count++;
    }
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return;
    }
    t->event_names_n = count;
}

static int
STable_init(STable *t, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"quiet", "settle", "by_frame", "max_held", "Session",
                             "Transaction", "SipMessage", "unset", "kind", "invite_is_im",
                             "frame_key", "recent", "view", "count", NULL};
    PyObject *quiet, *settle, *fn[TF_COUNT], *view = Py_None;
    int by_frame, count_only = 0;
    Py_ssize_t max_held, recent;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOpnOOOOOOOn|$Op:SessionTable", kwlist,
                                     &quiet, &settle, &by_frame, &max_held, &fn[TF_SESSION],
                                     &fn[TF_TXN], &fn[TF_MSG], &fn[TF_UNSET], &fn[TF_KIND],
                                     &fn[TF_IS_IM], &fn[TF_FRAME_KEY], &recent, &view,
                                     &count_only))
        return -1;
    if (view != Py_None &&
        (!PyTuple_CheckExact(view) || PyTuple_GET_SIZE(view) != 2 ||
         !PyDict_CheckExact(PyTuple_GET_ITEM(view, 0)) ||
         !PyUnicode_CheckExact(PyTuple_GET_ITEM(view, 1)))) {
        PyErr_SetString(PyExc_TypeError, "SessionTable: view is (names: dict, scanned: str)");
        return -1;
    }
    if (!PyType_Check(fn[TF_TXN]) || !PyType_Check(fn[TF_MSG])) {
        PyErr_SetString(PyExc_TypeError, "SessionTable: Transaction and SipMessage are classes");
        return -1;
    }
    if (st_strings() < 0 || match_setup(fn[TF_TXN], fn[TF_MSG]) < 0)
        return -1;
    double q = 0.0, s = 0.0;
    if (quiet != Py_None && (st_double(quiet, &q) < 0 || st_double(settle, &s) < 0))
        return -1;
    PyObject *groups = PyDict_New();
    if (groups == NULL)
        return -1;
    if (parts_init(&t->parts, recent) < 0) {
        Py_DECREF(groups);
        return -1;
    }
    st_clear(t);
    Py_XSETREF(t->groups, groups);
    for (int i = 0; i < TF_COUNT; i++)
        Py_XSETREF(t->fn[i], Py_NewRef(fn[i]));
    Py_CLEAR(t->view_lower);
    Py_CLEAR(t->view_scanned);
    t->event_names_n = -1;
    if (view != Py_None) {
        t->view_lower = Py_NewRef(PyTuple_GET_ITEM(view, 0));
        t->view_scanned = Py_NewRef(PyTuple_GET_ITEM(view, 1));
        st_event_names(t);
    }
    Py_XSETREF(t->quiet_obj, Py_NewRef(quiet));
    Py_XSETREF(t->settle_obj, Py_NewRef(settle));
    t->has_quiet = quiet != Py_None;
    t->quiet = q;
    t->settle = s;
    t->by_frame = by_frame;
    t->max_held = max_held;
    t->held = 0;
    t->arrivals = 0;
    t->early = 0;
    t->count_only = count_only;
    memset(t->counted, 0, sizeof(t->counted));
    t->counted_rt = 0;
    t->now = -Py_HUGE_VAL;
    t->time_off = match_slot((PyTypeObject *)fn[TF_MSG], st_s.time);
    t->frame_off = match_slot((PyTypeObject *)fn[TF_MSG], st_s.frame);
    return 0;
}

static void
STable_dealloc(STable *t)
{
    st_clear(t);
    Py_CLEAR(t->groups);
    for (int i = 0; i < TF_COUNT; i++)
        Py_CLEAR(t->fn[i]);
    Py_CLEAR(t->quiet_obj);
    Py_CLEAR(t->settle_obj);
    Py_CLEAR(t->view_lower);
    Py_CLEAR(t->view_scanned);
    parts_free(&t->parts);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyObject *
STable_get_held(STable *t, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(t->held);
}

static PyObject *
STable_get_quiet(STable *t, void *closure)
{
    PyObject *v = closure != NULL ? t->settle_obj : t->quiet_obj;
    return Py_NewRef(v != NULL ? v : Py_None);
}

static PyObject *
STable_get_now(STable *t, void *Py_UNUSED(closure))
{
    return PyFloat_FromDouble(t->now);
}

static PyObject *
STable_get_early(STable *t, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(t->early);
}

static int
STable_set_early(STable *t, PyObject *v, void *Py_UNUSED(closure))
{
    long long x = v != NULL ? PyLong_AsLongLong(v) : -1;
    if (x == -1 && (v == NULL || PyErr_Occurred())) {
        if (v == NULL)
            PyErr_SetString(PyExc_AttributeError, "early cannot be deleted");
        return -1;
    }
    t->early = x;
    return 0;
}

static PyObject *
STable_get_max_held(STable *t, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(t->max_held);
}

static int
STable_set_max_held(STable *t, PyObject *v, void *Py_UNUSED(closure))
{
    Py_ssize_t x = v != NULL ? PyNumber_AsSsize_t(v, PyExc_OverflowError) : -1;
    if (x == -1 && (v == NULL || PyErr_Occurred())) {
        if (v == NULL)
            PyErr_SetString(PyExc_AttributeError, "max_held cannot be deleted");
        return -1;
    }
    t->max_held = x;
    return 0;
}

static PyObject *
STable_get_by_frame(STable *t, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(t->by_frame);
}

static PyObject *
STable_get_count_only(STable *t, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(t->count_only);
}

/* counted() -> ({kind: sessions}, retransmissions) */
static PyObject *
STable_counted(STable *t, PyObject *Py_UNUSED(ignored))
{
    if (st_strings() < 0)
        return NULL;
    PyObject *kinds = PyDict_New();
    if (kinds == NULL)
        return NULL;
    for (int i = 0; i < ST_KINDS; i++) {
        if (t->counted[i] == 0)
            continue;
        PyObject *n = PyLong_FromLongLong(t->counted[i]);
        if (n == NULL || PyDict_SetItem(kinds, st_s.kinds[i], n) < 0) {
            Py_XDECREF(n);
            Py_DECREF(kinds);
            return NULL;
        }
        Py_DECREF(n);
    }
    PyObject *out = Py_BuildValue("(NL)", kinds, t->counted_rt);
    return out;
}

static PyGetSetDef STable_getset[] = {
    {"held", (getter)STable_get_held, NULL, "Messages held in open sessions now.", NULL},
    {"quiet", (getter)STable_get_quiet, NULL, "Seconds of quiet that finish a session.", NULL},
    {"settle", (getter)STable_get_quiet, NULL, "Seconds of quiet that finish a settled one.",
     "settle"},
    {"by_frame", (getter)STable_get_by_frame, NULL, "Match in frame order.", NULL},
    {"count_only", (getter)STable_get_count_only, NULL,
     "Counting mode: sessions that are not calls and have nothing to note are counted\n"
     "(counted()), not emitted.", NULL},
    {"max_held", (getter)STable_get_max_held, (setter)STable_set_max_held,
     "Messages held open in total before the least recently active session goes early.", NULL},
    {"early", (getter)STable_get_early, (setter)STable_set_early,
     "Sessions emitted before they went quiet because max_held was reached.", NULL},
    {"_now", (getter)STable_get_now, NULL, "The latest capture time seen.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef STable_methods[] = {
    {"add", (PyCFunction)STable_add, METH_O,
     "add(m) -> [Session]: take one message; the sessions finished by its time."},
    {"open_since", (PyCFunction)(void (*)(void))STable_open_since, METH_VARARGS | METH_KEYWORDS,
     "open_since(*, calls_only=True) -> float: the first message time of the oldest open\n"
     "session (that may be a call)."},
    {"advance", (PyCFunction)STable_advance, METH_O,
     "advance(now) -> [Session]: the sessions quiet since capture time now."},
    {"counted", (PyCFunction)STable_counted, METH_NOARGS,
     "counted() -> ({kind: sessions}, retransmissions): what counting mode counted instead\n"
     "of emitting (first parts per kind; every part's retransmissions)."},
    {"finish", (PyCFunction)STable_finish, METH_NOARGS,
     "finish() -> [Session]: every open session, in order of its first message."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods STable_as_sequence = {
    .sq_length = (lenfunc)STable_length,
};

static PyTypeObject STableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lyncdump._fastpath.SessionTable",
    .tp_basicsize = sizeof(STable),
    .tp_dealloc = (destructor)STable_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "analysis/sessions.py's SessionBuilder with its open groups in C (see there).",
    .tp_methods = STable_methods,
    .tp_getset = STable_getset,
    .tp_as_sequence = &STable_as_sequence,
    .tp_init = (initproc)STable_init,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef module_methods[] = {
    {"tls_evp_decrypt", (PyCFunction)(void (*)(void))fast_tls_evp_decrypt, METH_FASTCALL,
     "tls_evp_decrypt(state, key, name, nonce, data, aad) -> bytes | False | None\n\n"
     "A TLS record opened with the read state's EVP context (made if not yet): the\n"
     "plaintext, False when the tag fails, None when there is no context (use the AEAD)."},
    {"tls_evp_stats", fast_tls_evp_stats, METH_NOARGS,
     "tls_evp_stats() -> (whether libcrypto's EVP AEAD functions were found, records opened "
     "with them so far, contexts alive)"},
    {"ratio", fast_ratio, METH_VARARGS,
     "ratio(num, den) -> float | None\n\n"
     "num / den as the readers compute packet times (nearest double), or None when it falls\n"
     "back to Python integers (for tests)."},
    {"srtp_check", fast_srtp_check, METH_VARARGS,
     "srtp_check(state, auth_key, tag_length, mki_length, packet) -> bool\n\n"
     "The fast path's SRTP check and rollover update on one packet (for tests)."},
    {"hmac_sha1", fast_hmac_sha1, METH_VARARGS,
     "hmac_sha1(key, data) -> bytes\n\nThe HMAC-SHA1 SRTP authentication uses here (for tests)."},
    {"mppc_inflate", fast_mppc_inflate, METH_VARARGS,
     "mppc_inflate(hist, known, pos, limit, data, bit, nbits, bit_base)\n"
     "    -> (pos, bit, reason) | (pos, bit, -1, bit offset, message)\n\n"
     "sipcomp/mppc.py's _inflate on the input bytes themselves (see there)."},
    {"sip_value_cache", (PyCFunction)(void (*)(void))fast_sip_value_cache, METH_FASTCALL,
     "sip_value_cache(clear=False) -> (entries, text_max, held, hits, misses)"},
    {"sip_head", (PyCFunction)(void (*)(void))fast_sip_head, METH_FASTCALL,
     "sip_head(data, header_end) -> (method, uri, status, reason, sl_end, header_end,\n"
     "                               body_start, index, repeated, cseq) | None\n\n"
     "sip/message.py's lazy parse of a clean, ASCII head with a strict start line (the eight\n"
     "core headers in index); None for anything else (Python reads it). header_end: where\n"
     "the framer found the empty line, or -1."},
    {"sip_header_scan", (PyCFunction)(void (*)(void))fast_sip_header_scan, METH_FASTCALL,
     "sip_header_scan(buf, start, end, names, index) -> None\n\n"
     "sip/message.py's scan of the header block buf[start:end] for the headers in names\n"
     "(lower-case bytes -> canonical name): each value, stripped as _view_values strips it,\n"
     "appended to the tuple index[canonical name], in order."},
    {"sip_frame_head", (PyCFunction)(void (*)(void))fast_sip_frame_head, METH_FASTCALL,
     "sip_frame_head(buf, start, scan) -> (header_end, body_start, content_length) | None\n\n"
     "sip/framing.py's search for the empty line from scan, and _only_content_length on\n"
     "buf[start:header_end] (-1: not the plain case). None: no empty line yet."},
    {"sip_negotiate_chunk", (PyCFunction)(void (*)(void))fast_sip_negotiate_chunk,
     METH_FASTCALL,
     "sip_negotiate_chunk(data, max_message)\n"
     "    -> (header_end, length, call_id, cseq_number, offers) | None\n\n"
     "data as one whole NEGOTIATE request, or an answer whose CSeq names NEGOTIATE, in the\n"
     "plain shape: where its header block ends, its Content-Length, and what\n"
     "sipcomp/stream.py's NegotiationTracker reads of it (the Call-ID and the CSeq number,\n"
     "blanks stripped, and whether Compression offers LZ77-8K). None: not surely one."},
    {"sip_frame_chunk", (PyCFunction)(void (*)(void))fast_sip_frame_chunk, METH_FASTCALL,
     "sip_frame_chunk(data, max_message) -> (consumed, [(start, size, header_end, length)])\n\n"
     "The whole messages at the start of data, by sip/framing.py's rules for the plain case\n"
     "(a framer between messages would give the same), and how far they reach (CR/LF after\n"
     "them included); the rest, if any, is for the framer."},
    {"sip_deliver_chunk", (PyCFunction)(void (*)(void))fast_sip_deliver_chunk, METH_FASTCALL,
     "sip_deliver_chunk(pipe, direction, data, frame, ts, max_message) -> consumed\n\n"
     "The whole messages at the start of data (sip_frame_chunk's), each delivered as the\n"
     "fast path delivers the messages it frames: made here and handed to the run through\n"
     "pipe's _make_hand when clean, else to pipe._deliver(direction, message, frame, frame,\n"
     "ts, header_end, length); how far they reach (CR/LF after them included)."},
    {"sip_negotiate_deliver", (PyCFunction)(void (*)(void))fast_sip_negotiate_deliver,
     METH_FASTCALL,
     "sip_negotiate_deliver(pipe, direction, data, frame, ts, max_message)\n"
     "    -> (message, call_id, cseq_number, offers) | False | None\n\n"
     "sip_negotiate_chunk's reading of data; when it is one, the message made and delivered\n"
     "as sip_deliver_chunk delivers a clean one, and given back with the tracker's fields.\n"
     "None: not surely a NEGOTIATE exchange's message; False: one, but Python must parse\n"
     "it (nothing was delivered)."},
    {"sip_addr_base", fast_sip_addr_base, METH_O,
     "sip_addr_base(value) -> (base, {placeholder: value}) | None\n\n"
     "sip/message.py's _split_addr: a From/To text with its token parameter values after\n"
     "the '>' replaced by placeholders, and the values; None when not in that shape."},
    {"sip_addr_check", fast_sip_addr_check, METH_O,
     "sip_addr_check(value) -> bool\n\n"
     "True when sip/headers.py's parse_name_addr surely reads the From/To text ``value``\n"
     "without a problem (a strict common subset; False means \"do not know\")."},
    {"sip_addrs_clean", (PyCFunction)(void (*)(void))fast_sip_addrs_clean, METH_FASTCALL,
     "sip_addrs_clean(index, clean) -> int\n\n"
     "Bit 1: the message's only From text (bit 2: To), ASCII, has its key (sip_addr_base's\n"
     "base, or the text) in the set clean, which sip/message.py fills with the texts it read\n"
     "without a problem, or the text is one sip_addr_check knows reads without a problem\n"
     "(its key then goes in clean); 0 bits: read them in Python."},
    {"sip_top_branch", fast_sip_top_branch, METH_O,
     "sip_top_branch(values) -> str | None | False\n\n"
     "The branch of the topmost Via, given every Via header value, when headers.py's\n"
     "parse_via takes every entry without a problem; False otherwise (parse them)."},
    {"sip_match", (PyCFunction)(void (*)(void))fast_sip_match, METH_FASTCALL,
     "sip_match(session, messages, Transaction, SipMessage, unset) -> (first, invite)\n\n"
     "analysis/sessions.py's _match_python: the session's transactions, retransmission\n"
     "counts and flags, with the same reads in the same order; returns the first request\n"
     "(or None) and whether any request is an INVITE, for _kind."},
    {"sip_message_setup", (PyCFunction)(void (*)(void))fast_sip_message_setup, METH_FASTCALL,
     "sip_message_setup(SipMessage, unset, checked, clean, presolve) -> bool\n\n"
     "Lets sip_message (and the scan's delivery) make messages of class SipMessage, with\n"
     "sip/message.py's markers, set of clean address texts and _presolve_addr; False when the\n"
     "class is not one whose slots this knows (nothing is made here then)."},
    {"sip_message", (PyCFunction)(void (*)(void))fast_sip_message, METH_FASTCALL,
     "sip_message(data, header_end, content_length) -> SipMessage | None\n\n"
     "parse_message's message made here when its head is clean and gives no parse-time\n"
     "defect; None: parse it in Python. header_end: the framer's, or -1."},
    {"sip_to_note", fast_sip_to_note, METH_O,
     "sip_to_note(messages: list) -> sequence\n\n"
     "The messages, in order, whose From or To was not read yet or that hold defects not\n"
     "taken yet: those Pipeline._emit calls note_address_defects and take_new_defects of\n"
     "(every message when SipMessage is not the class sip_message_setup took)."},
    {"sip_body_matters", (PyCFunction)(void (*)(void))fast_sip_body_matters, METH_FASTCALL,
     "sip_body_matters(content_type, body) -> bool\n\n"
     "Whether MediaPipeline.sip_message may do anything with a body under this first\n"
     "Content-Type value (None: none): the test the scan makes before handing a body on."},
    {"sip_count_message", (PyCFunction)(void (*)(void))fast_sip_count_message, METH_FASTCALL,
     "sip_count_message(stats, msg, limit) -> None\n\n"
     "Stats.count_message(msg) as the scan's delivery counts a message it made (limit:\n"
     "MAX_COUNTED_NAMES), for tests."},
    {"ice_words", fast_ice_words, METH_O,
     "ice_words(body) -> bool\n\n"
     "Whether body holds b\"candidate\" or b\"ice-pwd\" (media/stun_pipeline.py's\n"
     "sip_body test), in one pass."},
    {"multipart_spans", (PyCFunction)(void (*)(void))fast_multipart_spans, METH_FASTCALL,
     "multipart_spans(body, delim, limit) -> (spans, problem)\n\n"
     "sip/message.py's multipart_spans with delim = b'--' + boundary: the parts'\n"
     "(start, end), and 0 (no problem), 1 (boundary not found) or 2 (no close delimiter)."},
    {"part_head_matters", (PyCFunction)(void (*)(void))fast_part_head_matters, METH_FASTCALL,
     "part_head_matters(body, start, end) -> bool\n\n"
     "media/stats.py's part_head_matters_py: whether the part body[start:end] has a header\n"
     "block that may name application/sdp or a multipart type."},
    {"xml_elements", (PyCFunction)(void (*)(void))fast_xml_elements, METH_FASTCALL,
     "xml_elements(body, roots, names, attributes) -> (root_tag, elements | None) | None\n\n"
     "sip/xmlbody.py's reading of a body in the plain subset of XML (see there): the root's\n"
     "{namespace}name and, when its local name is in roots, its elements in document order\n"
     "(XmlElement: local name, the attributes without a prefix named in attributes, text\n"
     "before the first child or None, end; names and attributes: tuples of ASCII str,\n"
     "shared). None: not in the subset (ElementTree reads it)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastpath_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "lyncdump._fastpath",
    .m_doc = "Optional compiled fast path for routine RTP (see lyncdump/fastpath.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__fastpath(void)
{
    str_slow_packet = PyUnicode_InternFromString("_packet");
    str_deliver = PyUnicode_InternFromString("_deliver");
    str_tls_record = PyUnicode_InternFromString("_tls_record");
    str_raw_data = PyUnicode_InternFromString("_raw_data");
    str_tls_plain = PyUnicode_InternFromString("_tls_plain");
    str_tls_sync = PyUnicode_InternFromString("_tls_sync");
    str_negotiation = PyUnicode_InternFromString("negotiation");
    str_sipcomp_rest = PyUnicode_InternFromString("_sipcomp_rest");
    if (str_slow_packet == NULL || str_deliver == NULL || str_tls_record == NULL ||
        str_raw_data == NULL || str_tls_plain == NULL || str_tls_sync == NULL ||
        str_negotiation == NULL || str_sipcomp_rest == NULL)
        return NULL;
    PyObject **budget_names[] = {&str_b_wire, &str_b_plain, &str_b_allowance, &str_b_ratio,
                                 &str_b_refused, &str_b_parent, &str_b_sync, &str_pipe_budget,
                                 &str_pipe_summary, &str_wire_bytes, &str_plain_bytes};
    const char *budget_strs[] = {"wire", "plain", "allowance", "ratio", "refused", "parent",
                                 "sync", "budget", "summary", "wire_bytes", "plain_bytes"};
    for (int i = 0; i < 11; i++)
        if ((*budget_names[i] = PyUnicode_InternFromString(budget_strs[i])) == NULL)
            return NULL;
    static const char *core_keys[8] = {"call-id", "cseq", "via", "from", "to", "content-type",
                                       "content-length", "max-forwards"};
    for (int i = 0; i < 8; i++)
        if ((sip_keys[i] = PyUnicode_InternFromString(core_keys[i])) == NULL)
            return NULL;
    for (int i = 0; sip_methods[i] != NULL; i++)
    {
        sip_method_lens[i] = (Py_ssize_t)strlen(sip_methods[i]);
        if ((sip_method_objs[i] = PyUnicode_InternFromString(sip_methods[i])) == NULL)
            return NULL;
    }
    if (PyType_Ready(&RtpCoreType) < 0 || PyType_Ready(&RelayCoreType) < 0 ||
        PyType_Ready(&SrtpCoreType) < 0 || PyType_Ready(&FastPathType) < 0 ||
        PyType_Ready(&SGroupType) < 0 || PyType_Ready(&STableType) < 0 ||
        PyType_Ready(&XmlElementType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&fastpath_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&RtpCoreType);
    if (PyModule_AddObject(m, "RtpCore", (PyObject *)&RtpCoreType) < 0) {
        Py_DECREF(&RtpCoreType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&RelayCoreType);
    if (PyModule_AddObject(m, "RelayCore", (PyObject *)&RelayCoreType) < 0) {
        Py_DECREF(&RelayCoreType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&SrtpCoreType);
    if (PyModule_AddObject(m, "SrtpCore", (PyObject *)&SrtpCoreType) < 0) {
        Py_DECREF(&SrtpCoreType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&FastPathType);
    if (PyModule_AddObject(m, "FastPath", (PyObject *)&FastPathType) < 0) {
        Py_DECREF(&FastPathType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&STableType);
    if (PyModule_AddObject(m, "SessionTable", (PyObject *)&STableType) < 0) {
        Py_DECREF(&STableType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&XmlElementType);
    if (PyModule_AddObject(m, "XmlElement", (PyObject *)&XmlElementType) < 0) {
        Py_DECREF(&XmlElementType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
