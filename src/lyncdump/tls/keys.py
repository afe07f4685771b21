"""Where TLS keys come from: NSS key log files (SSLKEYLOGFILE), pcapng Decryption Secrets
Blocks, RSA private keys (PEM, DER or PKCS#12), and sessions resumed from earlier handshakes.

A live run follows its key log (:class:`KeyLogFollower`): an application appends a line for
each connection it makes while the capture runs, so a lookup that misses reads what was
appended since, and nothing is read while lookups hit.

Secrets are kept in memory only; nothing here ever formats a secret into a message: errors say
which file and which line, never what it holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..errors import KeyMaterialError

#: pcapng Decryption Secrets Block type for an NSS key log ("TLSK").
SECRETS_TYPE_TLS_KEYLOG = 0x544C534B

#: Labels of the NSS key log format this decoder uses (others are read and ignored).
KEYLOG_LABELS = frozenset(
    {
        "CLIENT_RANDOM",
        "CLIENT_EARLY_TRAFFIC_SECRET",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EARLY_EXPORTER_SECRET",
        "EXPORTER_SECRET",
    }
)

#: Bound on the session cache (session IDs and tickets → master secrets).
MAX_CACHED_SESSIONS = 65536

#: Bound on the bytes read from one key log file, in total: a followed log that is replaced
#: or truncated is read again from its start, and those bytes count too.
MAX_KEYLOG_BYTES = 64 << 20

#: A followed key log's unfinished last line is kept for the next read up to this size; a
#: longer "line" is not a key log line and is skipped up to its end.
MAX_KEYLOG_LINE = 4096


class KeyLog:
    """Secrets by (label, client random); ``RSA`` entries by the first 8 bytes of the
    encrypted premaster secret."""

    __slots__ = ("_secrets", "_rsa", "entries", "bad_lines")

    def __init__(self) -> None:
        self._secrets: dict[tuple[str, bytes], bytes] = {}
        self._rsa: dict[bytes, bytes] = {}
        self.entries = 0
        self.bad_lines: list[int] = []

    def __len__(self) -> int:
        return self.entries

    def add_text(self, text: str, first_line: int = 1) -> int:
        """Read key log lines (comments and unknown labels skipped); returns entries added.

        Lines that do not parse are counted in ``bad_lines`` (numbers only, never content;
        ``first_line`` is the number of the first line of ``text`` in its file)."""
        added = 0
        for number, line in enumerate(text.splitlines(), first_line):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 3:
                self.bad_lines.append(number)
                continue
            label, first, secret = parts
            try:
                key = bytes.fromhex(first)
                value = bytes.fromhex(secret)
            except ValueError:
                self.bad_lines.append(number)
                continue
            if label == "RSA" and len(key) == 8:
                self._rsa[key] = value
            elif label in KEYLOG_LABELS and len(key) == 32:
                self._secrets[(label, key)] = value
            else:
                continue
            added += 1
        self.entries += added
        return added

    def get(self, label: str, client_random: bytes) -> bytes | None:
        return self._secrets.get((label, client_random))

    def rsa_premaster(self, encrypted_premaster: bytes) -> bytes | None:
        return self._rsa.get(encrypted_premaster[:8])


def read_keylog(path: str | os.PathLike[str], *, origin: str | None = None) -> KeyLog:
    """Load an NSS key log file; :class:`KeyMaterialError` when it cannot be read or holds no
    usable line at all."""
    what = f"key log {os.fspath(path)}" + (f" (from {origin})" if origin else "")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(64 << 20)
    except OSError as exc:
        raise KeyMaterialError(f"{what}: cannot read it ({exc.strerror or exc})") from None
    log = KeyLog()
    log.add_text(raw.decode("ascii", "replace"))
    if not len(log) and raw.strip():
        raise KeyMaterialError(
            f"{what}: no NSS key log line in it (expected lines like "
            "'CLIENT_RANDOM <64 hex> <96 hex>')"
        )
    return log


class KeyLogFollower:
    """How far a key log file that is still being written was read.

    :meth:`read_new` adds to a :class:`KeyLog` only the whole lines appended since the last
    call: a ``stat`` first, and nothing is read when the file did not grow. The unfinished last
    line is kept for the next call (a writer may be in the middle of it). A file replaced (a new
    inode) or truncated is read again from its start. At most ``limit`` bytes are read in all.
    """

    __slots__ = ("path", "limit", "offset", "total", "_identity", "_partial", "_skip", "_lines")

    def __init__(self, path: str | os.PathLike[str], limit: int = MAX_KEYLOG_BYTES) -> None:
        self.path = os.fspath(path)
        self.limit = limit
        self.offset = 0  # bytes of the current file read so far
        self.total = 0  # bytes read in all, re-reads included (the bound)
        self._identity: tuple[int, int] | None = None
        self._partial = b""
        self._skip = False  # inside a line too long to be a key log line
        self._lines = 0  # whole lines read from the current file

    @property
    def exhausted(self) -> bool:
        """The byte bound was reached: nothing more will be read."""
        return self.total >= self.limit

    def read_new(self, log: KeyLog) -> int:
        """Add what was appended since the last call to ``log``; returns the entries added.

        Raises ``OSError`` when the file cannot be looked at or read (``FileNotFoundError``
        while it does not exist yet); the caller decides whether that matters."""
        st = os.stat(self.path)
        identity = (st.st_dev, st.st_ino)
        if identity != self._identity or st.st_size < self.offset:
            self._identity = identity  # a new file, or this one truncated: from the start
            self.offset = 0
            self._partial = b""
            self._skip = False
            self._lines = 0
        want = min(st.st_size - self.offset, self.limit - self.total)
        if want <= 0:
            return 0
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(want)
        self.offset += len(data)
        self.total += len(data)
        data = self._partial + data
        end = data.rfind(b"\n") + 1
        whole, self._partial = data[:end], data[end:]
        if self._skip and end:  # the rest of an overlong line ends here
            whole = whole[whole.index(b"\n") + 1 :]
            self._lines += 1
            self._skip = False
        if len(self._partial) > MAX_KEYLOG_LINE:
            self._partial = b""
            self._skip = True
        if not whole:
            return 0
        first = self._lines + 1
        self._lines += whole.count(b"\n")
        return log.add_text(whole.decode("ascii", "replace"), first)


def follow_keylog(
    path: str | os.PathLike[str], *, origin: str | None = None
) -> tuple[KeyLog, KeyLogFollower]:
    """A key log to follow while it is written (a live run): what it holds now, and the
    follower that reads what is appended later.

    Unlike :func:`read_keylog`, a file that does not exist yet is fine when its folder does
    (the application creates it with its first connection), and an unfinished last line waits
    for its end. :class:`KeyMaterialError` when it cannot be read or its lines are no key log.
    """
    name = os.fspath(path)
    what = f"key log {name}" + (f" (from {origin})" if origin else "")
    log = KeyLog()
    follower = KeyLogFollower(name)
    try:
        follower.read_new(log)
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(name))
        if not os.path.isdir(folder):
            raise KeyMaterialError(
                f"{what}: cannot read it (its folder {folder} does not exist)"
            ) from None
    except OSError as exc:
        raise KeyMaterialError(f"{what}: cannot read it ({exc.strerror or exc})") from None
    if not len(log) and log.bad_lines:
        raise KeyMaterialError(
            f"{what}: no NSS key log line in it (expected lines like "
            "'CLIENT_RANDOM <64 hex> <96 hex>')"
        )
    return log, follower


def load_rsa_key(path: str | os.PathLike[str], password: str | None = None) -> object:
    """An RSA private key from PEM, DER or PKCS#12 (``.pfx``/``.p12``, with ``password``).

    With several keys and one ``--rsa-key-password``, the password is for the files that need
    one: a file that is not encrypted is read without it. Raises :class:`KeyMaterialError`
    naming the file, never its content or the password.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        load_der_private_key,
        load_pem_private_key,
        pkcs12,
    )

    name = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
    except OSError as exc:
        raise KeyMaterialError(f"RSA key {name}: cannot read it ({exc.strerror or exc})") from None
    secret = password.encode() if password is not None else None
    key: object = None
    errors: list[str] = []
    if b"-----BEGIN" in data:
        try:
            key = load_pem_private_key(data, secret)
        except TypeError:
            if secret is None:
                errors.append("it is encrypted: give --rsa-key-password")
            else:  # the password is for another of the keys given
                try:
                    key = load_pem_private_key(data, None)
                except (TypeError, ValueError):
                    errors.append("not a private key in PEM form")
        except ValueError:
            errors.append(
                "wrong password, or not a private key in PEM form"
                if secret is not None
                else "not a private key in PEM form"
            )
    else:
        try:
            key = pkcs12.load_key_and_certificates(data, secret)[0]
            if key is None:
                errors.append("the PKCS#12 file holds no private key")
        except ValueError:
            try:
                key = load_der_private_key(data, secret)
            except TypeError:
                if secret is None:  # an encrypted DER key
                    errors.append("it is encrypted: give --rsa-key-password")
                else:
                    try:  # an unencrypted DER key given with another key's password
                        key = load_der_private_key(data, None)
                    except (TypeError, ValueError):
                        errors.append("not a DER private key, nor a PKCS#12 file")
            except ValueError:
                errors.append(
                    "not a PKCS#12 file this password opens, nor a DER private key"
                    if secret is not None
                    else "not a DER private key, nor a PKCS#12 file without password "
                    "(give --rsa-key-password)"
                )
    if key is None:
        raise KeyMaterialError(f"RSA key {name}: {errors[0] if errors else 'unreadable'}")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyMaterialError(
            f"RSA key {name}: a {type(key).__name__.lstrip('_')} key, not RSA "
            "(only RSA key exchange can be decrypted with a private key)"
        )
    return key


class TlsKeys:
    """Every key source of one run, shared by all its TLS connections.

    ``secrets`` is the capture reader's list of pcapng Decryption Secrets Blocks; it may grow
    while the capture is read, so it is looked at again whenever a lookup misses. With a
    ``follower`` (a live run) a miss also reads what was appended to the key log file since.
    """

    __slots__ = (
        "keylog",
        "rsa_keys",
        "follower",
        "held",
        "_secrets",
        "_secrets_read",
        "_sessions",
        "_from_pcapng",
    )

    def __init__(
        self,
        keylog: KeyLog | None = None,
        rsa_keys: Iterable[object] = (),
        secrets: list[tuple[int, bytes]] | None = None,
        follower: KeyLogFollower | None = None,
    ) -> None:
        self.keylog = keylog or KeyLog()
        self.rsa_keys = list(rsa_keys)
        self.follower = follower
        #: Bytes of records the run's TLS connections hold while they wait for key log lines
        #: (tls/decrypt.py): one total for all of them, bounded there.
        self.held = 0
        self._secrets = secrets if secrets is not None else []
        self._secrets_read = 0
        self._sessions: dict[bytes, bytes] = {}
        self._from_pcapng: set[tuple[str, bytes]] = set()

    @property
    def empty(self) -> bool:
        return (
            not len(self.keylog)
            and not self.rsa_keys
            and not self._secrets
            and self.follower is None
        )

    @property
    def follows(self) -> bool:
        """The key log is followed and may still bring secrets (a connection without keys
        may look again later)."""
        return self.follower is not None and not self.follower.exhausted

    def _read_followed(self) -> bool:
        follower = self.follower
        if follower is None:
            return False
        try:
            return follower.read_new(self.keylog) > 0
        except OSError:  # not written yet, or gone for a moment while it is replaced
            return False

    def _read_secrets(self) -> bool:
        if self._secrets_read == len(self._secrets):
            return False
        for stype, data in self._secrets[self._secrets_read :]:
            if stype == SECRETS_TYPE_TLS_KEYLOG:
                before = set(self.keylog._secrets)
                self.keylog.add_text(data.decode("ascii", "replace"))
                self._from_pcapng.update(set(self.keylog._secrets) - before)
        self._secrets_read = len(self._secrets)
        return True

    def secret(self, label: str, client_random: bytes) -> tuple[bytes, str] | None:
        """(secret, where it came from) for a key log label, or None."""
        return self.secrets((label,), client_random)[0]

    def secrets(
        self, labels: tuple[str, ...], client_random: bytes
    ) -> list[tuple[bytes, str] | None]:
        """:meth:`secret` of several labels of one connection: on a miss the pcapng secrets,
        then the followed key log, are read further once for all of them."""
        get = self.keylog.get
        values = [get(label, client_random) for label in labels]
        if None in values and self._read_secrets():
            values = [get(label, client_random) for label in labels]
        if None in values and self._read_followed():
            values = [get(label, client_random) for label in labels]
        pcapng = self._from_pcapng
        return [
            None
            if value is None
            else (value, "pcapng secrets" if (label, client_random) in pcapng else "key log")
            for label, value in zip(labels, values, strict=True)
        ]

    def rsa_premaster(self, encrypted: bytes) -> bytes | None:
        value = self.keylog.rsa_premaster(encrypted)
        if value is None and self._read_secrets():
            value = self.keylog.rsa_premaster(encrypted)
        if value is None and self._read_followed():
            value = self.keylog.rsa_premaster(encrypted)
        return value

    def remember(self, session_key: bytes, master_secret: bytes) -> None:
        """Keep a master secret under a session ID or ticket for later resumption."""
        if session_key and len(self._sessions) < MAX_CACHED_SESSIONS:
            self._sessions[session_key] = master_secret

    def resumed(self, session_key: bytes) -> bytes | None:
        return self._sessions.get(session_key) if session_key else None
