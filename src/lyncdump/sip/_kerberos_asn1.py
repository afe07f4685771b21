"""The few RFC 4120 types :mod:`lyncdump.sip.kerberos` decodes, as pyasn1 specs.

A module of its own so that pyasn1 (about 80 ms to import) loads with the first Kerberos token
a run meets, not with every run.
"""

from __future__ import annotations

from pyasn1.codec.der import decoder as der
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, namedtype, tag, univ, useful

__all__ = ["ApRep", "ApReq", "KrbError", "PyAsn1Error", "der"]


def _ctx(n: int) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


def _app(base: univ.Sequence, n: int) -> tag.TagSet:
    return base.tagSet.tagExplicitly(tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, n))


class _PrincipalName(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("name-type", univ.Integer().subtype(explicitTag=_ctx(0))),
        namedtype.NamedType(
            "name-string",
            univ.SequenceOf(componentType=char.GeneralString()).subtype(explicitTag=_ctx(1)),
        ),
    )


class _EncryptedData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("etype", univ.Integer().subtype(explicitTag=_ctx(0))),
        namedtype.OptionalNamedType("kvno", univ.Integer().subtype(explicitTag=_ctx(1))),
        namedtype.NamedType("cipher", univ.OctetString().subtype(explicitTag=_ctx(2))),
    )


class _Ticket(univ.Sequence):
    tagSet = _app(univ.Sequence(), 1)
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("tkt-vno", univ.Integer().subtype(explicitTag=_ctx(0))),
        namedtype.NamedType("realm", char.GeneralString().subtype(explicitTag=_ctx(1))),
        namedtype.NamedType("sname", _PrincipalName().subtype(explicitTag=_ctx(2))),
        namedtype.NamedType("enc-part", _EncryptedData().subtype(explicitTag=_ctx(3))),
    )


class _ApReq(univ.Sequence):
    tagSet = _app(univ.Sequence(), 14)
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("pvno", univ.Integer().subtype(explicitTag=_ctx(0))),
        namedtype.NamedType("msg-type", univ.Integer().subtype(explicitTag=_ctx(1))),
        namedtype.NamedType("ap-options", univ.BitString().subtype(explicitTag=_ctx(2))),
        namedtype.NamedType("ticket", _Ticket().subtype(explicitTag=_ctx(3))),
        namedtype.NamedType("authenticator", _EncryptedData().subtype(explicitTag=_ctx(4))),
    )


class _ApRep(univ.Sequence):
    tagSet = _app(univ.Sequence(), 15)
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("pvno", univ.Integer().subtype(explicitTag=_ctx(0))),
        namedtype.NamedType("msg-type", univ.Integer().subtype(explicitTag=_ctx(1))),
        namedtype.NamedType("enc-part", _EncryptedData().subtype(explicitTag=_ctx(2))),
    )


class _KrbError(univ.Sequence):
    tagSet = _app(univ.Sequence(), 30)
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("pvno", univ.Integer().subtype(explicitTag=_ctx(0))),
        namedtype.NamedType("msg-type", univ.Integer().subtype(explicitTag=_ctx(1))),
        namedtype.OptionalNamedType("ctime", useful.GeneralizedTime().subtype(explicitTag=_ctx(2))),
        namedtype.OptionalNamedType("cusec", univ.Integer().subtype(explicitTag=_ctx(3))),
        namedtype.NamedType("stime", useful.GeneralizedTime().subtype(explicitTag=_ctx(4))),
        namedtype.NamedType("susec", univ.Integer().subtype(explicitTag=_ctx(5))),
        namedtype.NamedType("error-code", univ.Integer().subtype(explicitTag=_ctx(6))),
        namedtype.OptionalNamedType("crealm", char.GeneralString().subtype(explicitTag=_ctx(7))),
        namedtype.OptionalNamedType("cname", _PrincipalName().subtype(explicitTag=_ctx(8))),
        namedtype.NamedType("realm", char.GeneralString().subtype(explicitTag=_ctx(9))),
        namedtype.NamedType("sname", _PrincipalName().subtype(explicitTag=_ctx(10))),
        namedtype.OptionalNamedType("e-text", char.GeneralString().subtype(explicitTag=_ctx(11))),
        namedtype.OptionalNamedType("e-data", univ.OctetString().subtype(explicitTag=_ctx(12))),
    )


ApReq, ApRep, KrbError = _ApReq, _ApRep, _KrbError
