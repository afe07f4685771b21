"""Where TLS keys come from: NSS key log files (SSLKEYLOGFILE), pcapng Decryption Secrets
Blocks, RSA private keys (PEM, DER or PKCS#12), and sessions resumed from earlier handshakes.

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

    def add_text(self, text: str) -> int:
        """Read key log lines (comments and unknown labels skipped); returns entries added.

        Lines that do not parse are counted in ``bad_lines`` (numbers only, never content)."""
        added = 0
        for number, line in enumerate(text.splitlines(), 1):
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
    while the capture is read, so it is looked at again whenever a lookup misses.
    """

    __slots__ = ("keylog", "rsa_keys", "_secrets", "_secrets_read", "_sessions", "_from_pcapng")

    def __init__(
        self,
        keylog: KeyLog | None = None,
        rsa_keys: Iterable[object] = (),
        secrets: list[tuple[int, bytes]] | None = None,
    ) -> None:
        self.keylog = keylog or KeyLog()
        self.rsa_keys = list(rsa_keys)
        self._secrets = secrets if secrets is not None else []
        self._secrets_read = 0
        self._sessions: dict[bytes, bytes] = {}
        self._from_pcapng: set[tuple[str, bytes]] = set()

    @property
    def empty(self) -> bool:
        return not len(self.keylog) and not self.rsa_keys and not self._secrets

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
        value = self.keylog.get(label, client_random)
        if value is None and self._read_secrets():
            value = self.keylog.get(label, client_random)
        if value is None:
            return None
        source = "pcapng secrets" if (label, client_random) in self._from_pcapng else "key log"
        return value, source

    def rsa_premaster(self, encrypted: bytes) -> bytes | None:
        value = self.keylog.rsa_premaster(encrypted)
        if value is None and self._read_secrets():
            value = self.keylog.rsa_premaster(encrypted)
        return value

    def remember(self, session_key: bytes, master_secret: bytes) -> None:
        """Keep a master secret under a session ID or ticket for later resumption."""
        if session_key and len(self._sessions) < MAX_CACHED_SESSIONS:
            self._sessions[session_key] = master_secret

    def resumed(self, session_key: bytes) -> bytes | None:
        return self._sessions.get(session_key) if session_key else None
