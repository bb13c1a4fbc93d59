"""Detached CMS (PKCS #7) signatures: made with ``cryptography``, checked here, readable by ``openssl cms``.

``cryptography`` signs CMS but does not verify it, so this module reads the one structure a detached
signature is (RFC 5652: ContentInfo -> SignedData -> SignerInfo) from its DER bytes and checks it:
the signed attributes' message digest against the content, then the signature over those attributes
(or over the content itself when there are none) with the signer certificate's public key.  DER only;
BER's indefinite lengths (``openssl cms -sign -stream``) are refused with a clear error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

# Object identifiers (RFC 5652 clauses 5 and 11, RFC 5754, RFC 3279/5758, RFC 8419).
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_DATA = "1.2.840.113549.1.7.1"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_RSA_PSS = "1.2.840.113549.1.1.10"
_DIGESTS = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}

# DER tags (X.690 8.1.2) of the elements read here.
_INTEGER, _OCTET_STRING, _OID, _SEQUENCE, _SET = 0x02, 0x04, 0x06, 0x30, 0x31
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_CONTEXT_0, _CONTEXT_1 = 0xA0, 0xA1  # constructed [0], [1]
_SKI_CHOICE = 0x80  # SignerIdentifier's subjectKeyIdentifier [0] IMPLICIT OCTET STRING


class CmsError(ValueError):
    """The signature is malformed, uses something this module does not check, or does not verify."""


@dataclass(frozen=True, slots=True)
class _Element:
    tag: int
    raw: bytes  # the whole TLV
    content: bytes

    def children(self) -> list[_Element]:
        return _elements(self.content)


def _element(data: bytes, offset: int) -> tuple[_Element, int]:
    if offset + 2 > len(data):
        raise CmsError("truncated DER")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise CmsError("high tag numbers do not occur in CMS")
    length = data[offset + 1]
    cursor = offset + 2
    if length == 0x80:
        raise CmsError("BER indefinite length: re-encode the signature as DER (openssl cms without -stream)")
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or cursor + count > len(data):
            raise CmsError("bad DER length")
        length = int.from_bytes(data[cursor : cursor + count], "big")
        cursor += count
    end = cursor + length
    if end > len(data):
        raise CmsError("truncated DER")
    return _Element(tag, data[offset:end], data[cursor:end]), end


def _elements(data: bytes) -> list[_Element]:
    out, offset = [], 0
    while offset < len(data):
        element, offset = _element(data, offset)
        out.append(element)
    return out


def _expect(element: _Element, tag: int, what: str) -> _Element:
    if element.tag != tag:
        raise CmsError(f"{what}: expected tag 0x{tag:02x}, found 0x{element.tag:02x}")
    return element


def _oid(element: _Element) -> str:
    body = _expect(element, _OID, "object identifier").content
    if not body:
        raise CmsError("empty object identifier")
    parts, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in (first, parts[0] - 40 * first, *parts[1:]))


@dataclass(frozen=True, slots=True)
class SignedData:
    certificates: tuple[x509.Certificate, ...]
    signer: x509.Certificate
    digest_oid: str
    signature_oid: str
    signed_attributes: bytes | None  # DER of the attributes as signed (SET OF), None when absent
    message_digest: bytes | None
    content_type: str | None
    signing_time: dt.datetime | None
    signature: bytes


def _time(element: _Element) -> dt.datetime:
    text = element.content.decode("ascii")
    if element.tag == _UTC_TIME:
        parsed = dt.datetime.strptime(text, "%y%m%d%H%M%SZ")
    elif element.tag == _GENERALIZED_TIME:
        parsed = dt.datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise CmsError("signingTime is neither UTCTime nor GeneralizedTime")
    return parsed.replace(tzinfo=dt.UTC)


def _find_signer(sid: _Element, certificates: tuple[x509.Certificate, ...]) -> x509.Certificate:
    for certificate in certificates:
        if sid.tag == _SEQUENCE:
            issuer, serial = sid.children()[:2]
            number = int.from_bytes(_expect(serial, _INTEGER, "serial number").content, "big", signed=True)
            if certificate.serial_number == number and certificate.issuer.public_bytes() == issuer.raw:
                return certificate
        elif sid.tag == _SKI_CHOICE:
            try:
                ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.content:
                return certificate
    raise CmsError("the signature does not carry the signer's certificate")


def parse_signed_data(der: bytes) -> SignedData:
    """The parts of a CMS SignedData with one signer that verification needs."""
    elements = _elements(der)
    if len(elements) != 1:
        raise CmsError("not a single DER structure")
    content_info = _expect(elements[0], _SEQUENCE, "ContentInfo").children()
    if len(content_info) < 2 or _oid(content_info[0]) != OID_SIGNED_DATA:
        raise CmsError("not a CMS SignedData")
    (signed,) = _expect(content_info[1], _CONTEXT_0, "ContentInfo content").children()
    parts = _expect(signed, _SEQUENCE, "SignedData").children()
    certificates: list[x509.Certificate] = []
    signer_infos = None
    for part in parts[3:]:
        if part.tag == _CONTEXT_0:
            for item in part.children():
                if item.tag == _SEQUENCE:  # other certificate choices are tagged; none is used here
                    certificates.append(x509.load_der_x509_certificate(item.raw))
        elif part.tag == _SET:
            signer_infos = part.children()
    if not signer_infos:
        raise CmsError("SignedData has no SignerInfo")
    if len(signer_infos) != 1:
        raise CmsError(f"SignedData has {len(signer_infos)} signers; one is expected")
    info = _expect(signer_infos[0], _SEQUENCE, "SignerInfo").children()
    if len(info) < 5:
        raise CmsError("SignerInfo is incomplete")
    signer = _find_signer(info[1], tuple(certificates))
    digest_oid = _oid(_expect(info[2], _SEQUENCE, "digestAlgorithm").children()[0])
    index = 3
    attributes = None
    message_digest = content_type = signing_time = None
    if info[index].tag == _CONTEXT_0:
        # Signed over as a SET OF (RFC 5652 5.4): the same bytes with the universal SET tag.
        attributes = bytes([_SET]) + info[index].raw[1:]
        for attribute in info[index].children():
            kind, values = _expect(attribute, _SEQUENCE, "Attribute").children()[:2]
            value = _expect(values, _SET, "AttributeValues").children()[0]
            name = _oid(kind)
            if name == OID_MESSAGE_DIGEST:
                message_digest = _expect(value, _OCTET_STRING, "messageDigest").content
            elif name == OID_CONTENT_TYPE:
                content_type = _oid(value)
            elif name == OID_SIGNING_TIME:
                signing_time = _time(value)
        index += 1
    signature_oid = _oid(_expect(info[index], _SEQUENCE, "signatureAlgorithm").children()[0])
    signature = _expect(info[index + 1], _OCTET_STRING, "signature").content
    return SignedData(
        certificates=tuple(certificates),
        signer=signer,
        digest_oid=digest_oid,
        signature_oid=signature_oid,
        signed_attributes=attributes,
        message_digest=message_digest,
        content_type=content_type,
        signing_time=signing_time,
        signature=signature,
    )


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


def verify_detached(der: bytes, content: bytes) -> SignedData:
    """Check a detached CMS signature over ``content``; return what it holds, or raise CmsError.

    This proves the content is what the holder of the signer certificate's key signed; whether that
    certificate is trusted is the caller's question.
    """
    signed = parse_signed_data(der)
    digest_class = _DIGESTS.get(signed.digest_oid)
    if digest_class is None:
        raise CmsError(f"digest algorithm {signed.digest_oid} is not supported (SHA-256, -384 or -512 are)")
    algorithm = digest_class()
    if signed.signed_attributes is not None:
        if signed.content_type != OID_DATA:
            raise CmsError("the signed content type is not id-data")
        if signed.message_digest != _digest(algorithm, content):
            raise CmsError("the content does not match the signed message digest")
        data = signed.signed_attributes
    else:
        data = content
    key = signed.signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if signed.signature_oid == OID_RSA_PSS:
                raise CmsError("RSASSA-PSS signatures are not supported")
            key.verify(signed.signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signed.signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signed.signature, data)
        else:
            raise CmsError(f"signer key type {type(key).__name__} is not supported")
    except InvalidSignature as exc:
        raise CmsError("the signature does not verify with the signer certificate's key") from exc
    return signed


def sign_detached(
    content: bytes,
    key: pkcs7.PKCS7PrivateKeyTypes,
    certificate: x509.Certificate,
    intermediates: Sequence[x509.Certificate] = (),
) -> bytes:
    """A detached CMS signature (DER) over ``content`` as it is, byte for byte (no MIME canonicalisation),
    carrying the signer's certificate and ``intermediates`` so a verifier needs only the root."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(certificate, key, hashes.SHA256())
    for extra in intermediates:
        builder = builder.add_certificate(extra)
    return builder.sign(
        serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    )
