"""Run a block with some of a module's compiled helpers switched off (its Python code runs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def without(module: ModuleType, *names: str, when: bool = True) -> Iterator[None]:
    """``module``'s attributes ``names`` (its compiled helpers: ``_sip_head``, ``_frame_head``,
    ...) are None inside the block, when ``when``; put back after it."""
    saved = {name: getattr(module, name) for name in names}
    if when:
        for name in names:
            setattr(module, name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)
