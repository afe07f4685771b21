"""Whether a SIP body may carry ICE credentials or candidates (what the STUN analyzer learns
from): b"candidate" or b"ice-pwd" anywhere in it. Asked of every SIP body, so compiled (one
pass, ``_fastpath.ice_words``) where the extension is in use; :func:`ice_words_py` is the
reference and the pure-Python path. A module of its own so that the media layer can ask it
without loading the STUN pipeline, which starts with the first body that says yes."""

from __future__ import annotations

from collections.abc import Callable

from .. import fastpath


def ice_words_py(body: bytes) -> bool:
    """Whether ``body`` holds b"candidate" or b"ice-pwd" (two searches)."""
    return b"candidate" in body or b"ice-pwd" in body


_compiled: Callable[[bytes], bool] | None = fastpath.helper("ice_words")
#: The test in use: compiled when the extension is, else :func:`ice_words_py`.
ice_words: Callable[[bytes], bool] = _compiled if _compiled is not None else ice_words_py

__all__ = ["ice_words", "ice_words_py"]
