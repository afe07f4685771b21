"""TLS: the handshake parser, key log, records and decryption.

A submodule is also an attribute of the package, imported on first use (PEP 562): type hints
that must resolve at run time (``typing.get_type_hints``) name types through it where the
module that names them must not load them at start-up (docs/performance.md, "Start-up").
"""

from __future__ import annotations

from typing import Any

from .. import _submodule_attribute


def __getattr__(name: str) -> Any:
    return _submodule_attribute(__name__, name)
