"""Dataclass views of result types whose values live in slots, a compiled base or properties.

:class:`~lyncdump.media.stats.StreamStats` keeps its per-packet fields in the compiled
``RtpCore`` (or its pure-Python stand-in), :class:`~lyncdump.sip.message.SipMessage` parses
lazily behind properties: neither can be an ordinary ``@dataclass`` (that would write an
``__init__`` and fight the slots). Yet analysis scripts reach for ``dataclasses.asdict`` and
``pd.DataFrame(list_of_results)``, which read ``__dataclass_fields__``. :func:`result_dataclass`
gives such a class exactly that: its class-level annotations become dataclass fields, read with
``getattr`` like any other, and nothing else changes (no ``__init__``, ``__repr__``, ``__eq__``
or ``__hash__`` is written, no instance gets bigger, the per-packet path is untouched).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

#: Class attributes that carry a field's value rather than a default: slots (``member``
#: descriptors, also those a C type's ``PyMemberDef`` makes), ``getset`` descriptors of a C
#: type, and properties.
_VALUE_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType, property)


def result_dataclass(fields: dict[str, str]) -> Callable[[T], T]:
    """Make a class a dataclass for ``dataclasses.fields``/``asdict`` (and so pandas) only.

    ``fields`` maps each field name to its type (as text, resolved by ``get_type_hints`` in
    the class's module); its value is whatever the attribute gives (a slot, a field of a
    compiled base, a property). A descriptor found as the class attribute is not a default:
    the field is left without one, as a slot field of a plain dataclass is, and marked
    ``init=False``: the class's own constructor sets it, not a generated one. The types are
    given here rather than as class annotations because a property cannot be annotated too.
    """

    def make(cls: T) -> T:
        annotations = dict(cls.__dict__.get("__annotations__", {}))
        annotations.update(fields)
        cls.__annotations__ = annotations
        dataclasses.dataclass(init=False, repr=False, eq=False, match_args=False)(cls)
        for f in dataclasses.fields(cls):
            if isinstance(f.default, _VALUE_DESCRIPTORS):
                f.default = dataclasses.MISSING
            f.init = False  # the class's own __init__ (or the parser) sets it
        return cls

    return make
