"""Signatures of the PUMP: the station's Ed25519 key, first declarations, care certificates.

- The station's signing key lives in the encrypted store (a secret, created on first use). A PUMP
  station publishes its public key through the change log (entity ``station_key``, one fact per
  key, written when the key is created, or when a station that had one before opens or signs):
  the hub passes it to every station, so a certificate verifies offline anywhere once the keys
  have synced. The keys a station knows (:func:`known_signers`) are those synced facts (only
  those written by the station the key belongs to), the keys trusted by hand (``certificate
  trust``, for a station that never synced: meta ``signers``, JSON ``{station_id: public key
  hex}``), and its own key. A station may have several keys (a previous key stays known, so the
  certificates it signed still verify).
- A first declaration is signed over a canonical form (sorted, compact JSON of its fields and the
  signing station); its SHA-256 is the *declaration hash* a certificate refers to.
- A certificate is a PDF (fpdf2) with the fields of DOMAIN.md, the victims' hotline and a QR code
  carrying the compact payload ``FKC1.`` + base64url(certificate id, issuing station, time,
  declaration hash, signature). The whole file is signed too: a last line
  ``%FIELDKIT-SIG <station_id> <base64 signature>`` after ``%%EOF`` covers every byte before it.
- :func:`verify` checks a file or a payload offline against the known public keys and says why it
  refuses.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
import re
import struct
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fieldkit.domain import validation
from fieldkit.domain.authority import station_key_refusal, writers
from fieldkit.domain.ids import new_id
from fieldkit.domain.model import STATION_KEY, station_key_id
from fieldkit.errors import FieldkitError, PermissionDenied, ValidationError
from fieldkit.i18n import N_, _
from fieldkit.services.files import replaceable_target
from fieldkit.services.persons import require_live_person
from fieldkit.store.store import Store

SIGNING_SECRET = "ed25519_signing_key"
SIGNERS_META = "signers"
HOTLINE_META = "hotline"
PAYLOAD_PREFIX = "FKC1."
PAYLOAD_VERSION = 1
TRAILER_TAG = b"%FIELDKIT-SIG "
DEFAULT_HOTLINE = "116 006"  # the French victims' helpline (France Victimes), free, every day
ISSUERS = writers("certificate")  # the PUMP
KEY_PUBLISHERS = writers(STATION_KEY.name)  # the PUMP: the stations whose keys others need
KEY_AUTHOR = "station"  # author of the station_key change a station records by itself
MAX_ITT_DAYS = 365

KINDS: dict[str, str] = {
    "initial": N_("Initial medical certificate"),
    "care": N_("Certificate of care"),
}

_HEX_ID = re.compile(r"[0-9a-f]{32}")
_STATION_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_B64_SIG = re.compile(rb"[A-Za-z0-9+/]{86}==")
_REGISTRATION = re.compile(r"[0-9A-Za-z][0-9A-Za-z ./-]*")


# --- the station's key and the keys it knows ---------------------------------------------------


# {station_id: its public key (hex), or its keys}: what the checks below are given.
Signers = Mapping[str, str | Sequence[str]]


def signing_key(store: Store) -> Ed25519PrivateKey:
    """The station's Ed25519 private key, created and kept in the encrypted store on first use.

    On a PUMP station the public key is published (entity ``station_key``) in the same
    transaction that creates it, or at the first use of a key created before it was published.
    """
    with store.transaction():
        raw = store.get_secret(SIGNING_SECRET)
        if raw is None:
            raw = os.urandom(32)
            store.set_secret(SIGNING_SECRET, raw)
        key = Ed25519PrivateKey.from_private_bytes(raw)
        _publish(store, key)
    return key


def _hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def public_key_hex(store: Store) -> str:
    """The station's public key as 64 hex digits (what the hub distributes to other stations)."""
    return _hex(signing_key(store))


def publish_key(store: Store) -> bool:
    """Publish the key of a PUMP station that already has one and has not published it yet (a
    station created before keys were synced, at its next opening); True if it was recorded."""
    if store.role not in KEY_PUBLISHERS:
        return False
    key = _stored_key(store)
    if key is None or _published(store, _hex(key)):
        return False  # read only: opening a station takes no write lock for nothing
    with store.transaction():
        return _publish(store, key)


def _publish(store: Store, key: Ed25519PrivateKey) -> bool:
    """Record ``key`` as this station's ``station_key`` fact unless it is already (in a
    transaction). Only the roles that sign certificates publish their key."""
    if store.role not in KEY_PUBLISHERS:
        return False
    key_hex = _hex(key)
    if _published(store, key_hex):
        return False
    store.record(
        STATION_KEY.name,
        station_key_id(store.station_id, key_hex),
        {
            "station_id": store.station_id,
            "public_key": key_hex,
            "station_name": store.meta.get("station_name", store.station_id),
            "role": store.role,
            "created_at": validation.utc_stamp(datetime.now(UTC)),
        },
        KEY_AUTHOR,
    )
    return True


def _published(store: Store, key_hex: str) -> bool:
    entity_id = station_key_id(store.station_id, key_hex)
    with store.lock:
        held = store.db.execute(
            "SELECT 1 FROM station_keys WHERE id = ? AND origin = ?", [entity_id, store.station_id]
        ).fetchone()
    return held is not None


def _stored_key(store: Store) -> Ed25519PrivateKey | None:
    """The station's key if it has one (never created here)."""
    with store.lock:
        raw = store.get_secret(SIGNING_SECRET)
    return None if raw is None else Ed25519PrivateKey.from_private_bytes(raw)


def _trusted_by_hand(store: Store) -> dict[str, str]:
    try:
        signers = json.loads(store.meta.get(SIGNERS_META) or "{}")
    except ValueError:
        signers = {}
    if not isinstance(signers, dict):
        return {}
    return {str(k): str(v) for k, v in signers.items()}


def synced_keys(store: Store) -> dict[str, list[str]]:
    """``{station_id: [public key hex, ...]}`` published by the stations themselves (newest first).

    A row some other origin wrote under a station's id is left out: a hub refuses such a change,
    and a station never trusts one that reached it anyway (an old relay, a tampered bundle)."""
    found: dict[str, list[str]] = {}
    with store.lock:
        rows = store.db.execute(
            "SELECT id, station_id, public_key, origin FROM station_keys"
            " WHERE station_id = origin ORDER BY hlc DESC, origin DESC"
        ).fetchall()
    for entity_id, station, key, origin in rows:
        values = {"station_id": station, "public_key": key}
        if station_key_refusal(origin, entity_id, values) is None:
            found.setdefault(station, []).append(key)
    return found


def known_signers(store: Store) -> dict[str, tuple[str, ...]]:
    """``{station_id: its public keys (hex)}`` of every station this one knows, its own included
    (its current key first): the keys synced from the stations, then those trusted by hand."""
    known: dict[str, list[str]] = {store.station_id: [public_key_hex(store)]}
    for station, keys in synced_keys(store).items():
        known.setdefault(station, []).extend(keys)
    for station, key in _trusted_by_hand(store).items():
        if station != store.station_id:
            known.setdefault(station, []).append(key)
    return {station: tuple(dict.fromkeys(keys)) for station, keys in known.items()}


def keys_of(signers: Signers, station_id: str) -> tuple[str, ...]:
    """The public keys ``signers`` holds for ``station_id`` (none if it is unknown)."""
    value = signers.get(station_id)
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def parse_public_key(value: str) -> Ed25519PublicKey:
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        raw = bytes.fromhex(text)
        if len(raw) != 32:
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ValidationError(
            _("A station public key is 64 hexadecimal digits."), field="public_key"
        ) from None


def add_signer(store: Store, station_id: str, public_key: str, *, replace: bool = False) -> None:
    """Trust ``public_key`` for certificates and declarations signed by ``station_id``."""
    if not isinstance(station_id, str) or not _STATION_ID.fullmatch(station_id.strip()):
        raise ValidationError(_("A station identifier is 1 to 64 letters or digits."))
    station_id = station_id.strip()
    key = parse_public_key(public_key)
    key_hex = key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    if station_id == store.station_id:
        if key_hex != public_key_hex(store):
            raise ValidationError(
                _("This is this station's own identifier: its key cannot change.")
            )
        return
    by_hand = _trusted_by_hand(store)
    known = set(synced_keys(store).get(station_id, ()))
    if station_id in by_hand:
        known.add(by_hand[station_id])
    if known and key_hex not in known and not replace:
        raise ValidationError(
            _(
                "Station {station} is already known with another key: check the key with the hub"
                " before replacing it."
            ).format(station=station_id)
        )
    by_hand[station_id] = key_hex
    store.set_meta(**{SIGNERS_META: json.dumps(by_hand, sort_keys=True)})


# --- low-level encodings ------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64url(raw) != text:  # one encoding per value: no spare bits left to flip unnoticed
        raise ValueError("not canonical base64url")
    return raw


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _verify_raw(public_keys: Iterable[str], signature: bytes, message: bytes) -> bool:
    """True if one of ``public_keys`` (hex) signed ``message``."""
    for public_hex in public_keys:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(signature, message)
        except (InvalidSignature, ValueError):
            continue
        return True
    return False


# --- first declarations ---------------------------------------------------------------------------


def canonical_declaration(
    person_id: str, text: str, clinician: str, signed_at: str, station_id: str
) -> bytes:
    """The exact bytes a first declaration's signature covers (sorted, compact UTF-8 JSON)."""
    return json.dumps(
        {
            "kind": "fieldkit-declaration-1",
            "person_id": person_id,
            "text": text,
            "clinician": clinician,
            "signed_at": signed_at,
            "station": station_id,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")


def sign_declaration(
    store: Store, person_id: str, text: str, clinician: str, signed_at: str
) -> str:
    """The signature field of a declaration: ``<station_id>:<base64url Ed25519 signature>``."""
    message = canonical_declaration(person_id, text, clinician, signed_at, store.station_id)
    return f"{store.station_id}:{_b64url(signing_key(store).sign(message))}"


def declaration_hash(row: Mapping[str, Any]) -> bytes:
    """SHA-256 of a declaration's canonical form (the station taken from its signature)."""
    station = str(row.get("signature") or "").partition(":")[0]
    return hashlib.sha256(
        canonical_declaration(
            str(row["person_id"]),
            str(row["text"]),
            str(row["clinician"]),
            str(row["signed_at"]),
            station,
        )
    ).digest()


@dataclass(frozen=True)
class Verification:
    """The outcome of a check: ``valid``, and on refusal a one-sentence ``reason``."""

    valid: bool
    reason: str
    station_id: str | None = None
    certificate_id: str | None = None
    issued_at: str | None = None
    declaration_hash: str | None = None
    fingerprint: str | None = None

    def __bool__(self) -> bool:
        return self.valid


def _refuse(reason: str, **known: Any) -> Verification:
    return Verification(False, reason, **known)


def verify_declaration(row: Mapping[str, Any], signers: Signers) -> Verification:
    """Check the signature of a stored first declaration."""
    station, _sep, encoded = str(row.get("signature") or "").partition(":")
    if not station or not encoded:
        return _refuse(_("This declaration carries no signature."))
    if not keys_of(signers, station):
        return _refuse(
            _(
                "This declaration was signed by station {station}, whose key this station does"
                " not know: get the station keys from the hub."
            ).format(station=station),
            station_id=station,
        )
    try:
        signature = _unb64url(encoded)
    except (ValueError, binascii.Error):
        signature = b""
    message = canonical_declaration(
        str(row.get("person_id")),
        str(row.get("text")),
        str(row.get("clinician")),
        str(row.get("signed_at")),
        station,
    )
    if not _verify_raw(keys_of(signers, station), signature, message):
        return _refuse(
            _("The declaration does not match its signature: it was altered."),
            station_id=station,
        )
    return Verification(True, _("Valid signature."), station_id=station)


# --- the certificate payload (QR code) ------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    certificate_id: str
    station_id: str
    issued_at: str  # UTC YYYY-MM-DDThh:mm:ssZ
    declaration_hash: bytes
    signature: bytes = b""

    def signed_part(self) -> bytes:
        station = self.station_id.encode("utf-8")
        seconds = int(_parse_utc(self.issued_at).timestamp())
        return (
            bytes([PAYLOAD_VERSION])
            + bytes.fromhex(self.certificate_id)
            + bytes([len(station)])
            + station
            + struct.pack(">I", seconds)
            + self.declaration_hash
        )

    def encode(self) -> str:
        return PAYLOAD_PREFIX + _b64url(self.signed_part() + self.signature)


def _message(signed_part: bytes) -> bytes:
    # The payload's signature covers its prefix too, so it can never be taken for another message.
    return PAYLOAD_PREFIX.encode("ascii") + signed_part


def make_payload(store: Store, certificate_id: str, issued_at: str, decl_hash: bytes) -> Payload:
    unsigned = Payload(certificate_id, store.station_id, issued_at, decl_hash)
    signature = signing_key(store).sign(_message(unsigned.signed_part()))
    return Payload(certificate_id, store.station_id, issued_at, decl_hash, signature)


def decode_payload(text: str) -> Payload:
    """Parse a payload; raises ValueError when it is not one."""
    text = text.strip()
    if not text.startswith(PAYLOAD_PREFIX):
        raise ValueError("prefix")
    raw = _unb64url(text[len(PAYLOAD_PREFIX) :])
    if len(raw) < 1 + 16 + 1 or raw[0] != PAYLOAD_VERSION:
        raise ValueError("version")
    cert_id = raw[1:17].hex()
    size = raw[17]
    station = raw[18 : 18 + size].decode("utf-8")
    rest = raw[18 + size :]
    if len(rest) != 4 + 32 + 64 or not _STATION_ID.fullmatch(station):
        raise ValueError("length")
    (seconds,) = struct.unpack(">I", rest[:4])
    issued = validation.utc_stamp(datetime.fromtimestamp(seconds, UTC))
    return Payload(cert_id, station, issued, rest[4:36], rest[36:])


def verify_payload(text: str, signers: Signers) -> Verification:
    try:
        payload = decode_payload(text)
    except (ValueError, binascii.Error, UnicodeDecodeError, struct.error):
        return _refuse(_("This is not a fieldkit certificate code, or it is incomplete."))
    known = {
        "station_id": payload.station_id,
        "certificate_id": payload.certificate_id,
        "issued_at": payload.issued_at,
        "declaration_hash": payload.declaration_hash.hex(),
    }
    if not keys_of(signers, payload.station_id):
        return _refuse(
            _(
                "This certificate was signed by station {station}, which is not among the known"
                " stations: it cannot be trusted."
            ).format(station=payload.station_id),
            **known,
        )
    if not _verify_raw(
        keys_of(signers, payload.station_id), payload.signature, _message(payload.signed_part())
    ):
        return _refuse(
            _("The certificate code does not match its signature: it was altered or forged."),
            **known,
        )
    return Verification(True, _("Valid certificate."), **known)


# --- the signed file -----------------------------------------------------------------------------


def sign_file(store: Store, data: bytes) -> bytes:
    """``data`` followed by the trailer line signing every byte of it."""
    if not data.endswith(b"\n"):
        data += b"\n"
    signature = base64.b64encode(signing_key(store).sign(data))
    return data + TRAILER_TAG + store.station_id.encode("ascii") + b" " + signature + b"\n"


_TRAILER = re.compile(rb"%FIELDKIT-SIG ([0-9A-Za-z_-]{1,64}) (\S+)\n")
_EMBEDDED = re.compile(rb"/Keywords \((FKC1\.[A-Za-z0-9_-]+)\)")


def verify_file(data: bytes, signers: Signers) -> Verification:
    """Check a certificate file: the trailer signature over every byte, then its embedded code."""
    fingerprint = hashlib.sha256(data).hexdigest()
    start = data.rfind(TRAILER_TAG)
    match = _TRAILER.fullmatch(data, start) if start >= 0 else None
    if match is None:
        return _refuse(
            _("This file carries no fieldkit signature (or its last line was altered)."),
            fingerprint=fingerprint,
        )
    station = match.group(1).decode("ascii")
    if not keys_of(signers, station):
        return _refuse(
            _(
                "This certificate was signed by station {station}, which is not among the known"
                " stations: it cannot be trusted."
            ).format(station=station),
            station_id=station,
            fingerprint=fingerprint,
        )
    encoded = match.group(2)
    signature = base64.b64decode(encoded) if _B64_SIG.fullmatch(encoded) else b""
    if base64.b64encode(signature) != encoded:  # spare bits of the last digit flipped
        signature = b""
    if not _verify_raw(keys_of(signers, station), signature, data[:start]):
        return _refuse(
            _("The file does not match its signature: it was altered after it was issued."),
            station_id=station,
            fingerprint=fingerprint,
        )
    embedded = _EMBEDDED.findall(data[:start])
    if len(embedded) != 1:
        return _refuse(
            _("The file is signed but holds no certificate code."),
            station_id=station,
            fingerprint=fingerprint,
        )
    inner = verify_payload(embedded[0].decode("ascii"), signers)
    if not inner.valid:
        return Verification(**{**inner.__dict__, "fingerprint": fingerprint})
    if inner.station_id != station:
        return _refuse(
            _("The file and its certificate code were signed by different stations."),
            station_id=station,
            fingerprint=fingerprint,
        )
    return Verification(**{**inner.__dict__, "fingerprint": fingerprint})


def verify(data: bytes | str, signers: Signers) -> Verification:
    """Check a certificate offline: a PDF file's bytes, or the code of its QR (``FKC1.``...)."""
    if isinstance(data, str):
        return verify_payload(data, signers)
    if data.lstrip()[:5] == PAYLOAD_PREFIX.encode("ascii"):
        try:
            return verify_payload(data.decode("ascii"), signers)
        except UnicodeDecodeError:
            return _refuse(_("This is not a fieldkit certificate code, or it is incomplete."))
    return verify_file(data, signers)


# --- issuing a certificate -----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_id: str
    path: Path
    payload: str
    fingerprint: str
    declaration_hash: str
    issued_at: str


def first_declaration(store: Store, person_id: str) -> dict[str, Any] | None:
    """The person's first declaration of location (earliest by the change order), if any."""
    rows = list(
        store.db.query(
            "SELECT * FROM declarations WHERE person_id = ? ORDER BY hlc, origin LIMIT 1",
            [person_id],
        )
    )
    return rows[0] if rows else None


def validate_itt(value: int | str) -> int:
    if isinstance(value, str):
        text = value.strip()
        days = int(text) if text.isascii() and text.isdigit() else -1
    elif isinstance(value, int) and not isinstance(value, bool):
        days = value
    else:
        days = -1
    if not 0 <= days <= MAX_ITT_DAYS:
        raise ValidationError(
            _("Days of incapacity (ITT) must be a whole number from 0 to {max}.").format(
                max=MAX_ITT_DAYS
            ),
            field="itt_days",
        )
    return days


def validate_registration(value: str | None) -> str:
    text = validation.validate_text(value, "registration", max_len=40, multiline=False)
    if text is None:
        raise ValidationError(
            _("Write the clinician's registration number (RPPS or ADELI)."), field="registration"
        )
    if not _REGISTRATION.fullmatch(text):
        raise ValidationError(
            _(
                "Registration number {value} may only hold letters, digits, spaces, dots and dashes."
            ).format(value=text),
            field="registration",
        )
    return text


def issue_certificate(
    store: Store,
    author: str,
    person_id: str,
    clinician: str,
    registration: str,
    itt_days: int | str,
    *,
    out: Path,
    findings: str | None = None,
    impact: str | None = None,
    kind: str = "initial",
    examined_at: str | None = None,
    place: str | None = None,
    hotline: str | None = None,
    now: datetime | None = None,
) -> IssuedCertificate:
    """Write a signed certificate PDF to ``out`` and record its metadata and fingerprint.

    The person's first declaration of location must be recorded (and its signature valid): the
    certificate quotes it and carries its hash.
    """
    if store.role not in ISSUERS:
        raise PermissionDenied(_("Only a PUMP station may issue care certificates."))
    if kind not in KINDS:
        raise ValidationError(
            _("Unknown certificate kind {kind}: use initial or care.").format(kind=kind),
            field="kind",
        )
    clinician_name = validation.validate_name(clinician, "clinician", max_len=120)
    if clinician_name is None:
        raise ValidationError(_("Write the clinician's name."), field="clinician")
    reg = validate_registration(registration)
    days = validate_itt(itt_days)
    findings_text = validation.validate_text(findings, "findings", max_len=4000)
    impact_text = validation.validate_text(impact, "impact", max_len=4000)
    place_text = validation.validate_text(place, "place", max_len=200, multiline=False)
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    examined = (
        validation.validate_event_time(examined_at, field="examined_at") if examined_at else None
    ) or validation.utc_stamp(moment)
    person = require_live_person(store, person_id)
    declaration = first_declaration(store, person_id)
    if declaration is None:
        raise ValidationError(
            _(
                "Record the person's first declaration of location before issuing a certificate:"
                " the certificate quotes it."
            ),
            field="declaration",
        )
    checked = verify_declaration(declaration, known_signers(store))
    if not checked.valid:
        raise ValidationError(checked.reason, field="declaration")
    decl_hash = declaration_hash(declaration)
    certificate_id = new_id()
    issued_at = validation.utc_stamp(moment)
    payload = make_payload(store, certificate_id, issued_at, decl_hash).encode()
    document = render_pdf(
        CertificateText(
            kind_title=_(KINDS[kind]),
            station=store.meta.get("station_name", store.station_id),
            station_id=store.station_id,
            incident=store.meta.get("incident", ""),
            certificate_id=certificate_id,
            clinician=clinician_name,
            registration=reg,
            person=person,
            examined_at=examined,
            place=place_text or store.meta.get("site") or store.meta.get("station_name", ""),
            declaration=str(declaration["text"]),
            declared_at=str(declaration["signed_at"]),
            findings=findings_text,
            impact=impact_text,
            itt_days=days,
            hotline=hotline or store.meta.get(HOTLINE_META) or DEFAULT_HOTLINE,
            issued_at=issued_at,
            payload=payload,
        )
    )
    signed = sign_file(store, document)
    fingerprint = hashlib.sha256(signed).hexdigest()
    temp = _write_temp(out, signed)
    try:
        store.record(
            "certificate",
            certificate_id,
            {
                "person_id": person_id,
                "kind": kind,
                "clinician": clinician_name,
                "registration": reg,
                "issued_at": issued_at,
                "itt_days": days,
                "declaration_hash": decl_hash.hex(),
                "fingerprint": fingerprint,
            },
            author,
        )
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return IssuedCertificate(certificate_id, out, payload, fingerprint, decl_hash.hex(), issued_at)


def _write_temp(out: Path, data: bytes) -> Path:
    """Write ``data`` beside ``out`` (so the final rename is atomic); a clear error if we cannot."""
    replaceable_target(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".certificate-", suffix=".pdf", dir=out.parent)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as exc:
        raise FieldkitError(
            _("Cannot write the certificate to {path}: {reason}.").format(
                path=out, reason=exc.strerror or exc
            )
        ) from None
    return Path(name)


def certificates(store: Store, person_id: str | None = None) -> list[dict[str, Any]]:
    """Certificate metadata kept by the station (never the findings: they went to the person)."""
    where = "WHERE person_id = ?" if person_id else ""
    return list(
        store.db.query(
            f"SELECT * FROM certificates {where} ORDER BY hlc, origin",
            [person_id] if person_id else [],
        )
    )


# --- the PDF -------------------------------------------------------------------------------------

# Unicode fonts looked for on the machine (names come in every script); the first found is used.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
FONT_ENV = "FIELDKIT_FONT"
# Fonts for the scripts the body font lacks (Chinese, Japanese, Korean above all), taken when a
# certificate needs them: those of FIELDKIT_FALLBACK_FONTS (paths separated by the system's path
# separator) first, then these.
FALLBACK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian: fonts-noto-cjk
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # Debian: fonts-droid-fallback
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian: fonts-wqy-microhei
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
FALLBACK_FONT_ENV = "FIELDKIT_FALLBACK_FONTS"


@dataclass(frozen=True)
class CertificateText:
    """Everything printed on a certificate."""

    kind_title: str
    station: str
    station_id: str
    incident: str
    certificate_id: str
    clinician: str
    registration: str
    person: Mapping[str, Any]
    examined_at: str
    place: str
    declaration: str
    declared_at: str
    findings: str | None
    impact: str | None
    itt_days: int
    hotline: str
    issued_at: str
    payload: str


def add_body_font(pdf: Any) -> str | None:
    """Register the system's Unicode TTF (and its bold) on ``pdf`` as "body"; None without one."""
    font = unicode_font()
    if font is None:
        return None
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    pdf.add_font("body", "", str(font))
    pdf.add_font("body", "B", str(bold if bold.is_file() else font))
    return "body"


def add_fallback_fonts(pdf: Any, values: Sequence[str]) -> None:
    """Give ``pdf`` fallback fonts for the characters of ``values`` its body font lacks.

    A certificate must show a name as it is written: when no font of the machine has some of
    its characters, this refuses, naming them, before anything is recorded.
    """
    body = unicode_font()
    needed = {ord(ch) for value in values for ch in value if ch.isprintable() and not ch.isspace()}
    missing = needed - font_characters(str(body)) if body else needed
    chosen: list[str] = []
    for candidate in fallback_font_candidates():
        if not missing:
            break
        covered = missing & font_characters(candidate)
        if covered:
            chosen.append(candidate)
            missing -= covered
    if missing:
        in_order = dict.fromkeys(ch for value in values for ch in value if ord(ch) in missing)
        shown = "".join(list(in_order)[:12])
        raise FieldkitError(
            _(
                "This station has no font to print {characters}: install the Noto CJK fonts"
                " (Debian package fonts-noto-cjk) or name a font that has them in"
                " FIELDKIT_FALLBACK_FONTS. Nothing was recorded."
            ).format(characters=shown)
        )
    names = []
    for index, path in enumerate(chosen):
        names.append(f"fallback{index}")
        pdf.add_font(names[-1], "", path, collection_font_number=0)
    if names:
        pdf.set_fallback_fonts(names, exact_match=False)  # bold falls back to the regular face


def fallback_font_candidates() -> list[str]:
    listed = os.environ.get(FALLBACK_FONT_ENV, "").split(os.pathsep)
    return [path for path in [*listed, *FALLBACK_FONT_CANDIDATES] if path and Path(path).is_file()]


@functools.lru_cache(maxsize=16)
def font_characters(path: str) -> frozenset[int]:
    """The code points a font file (TrueType, OpenType or the first face of a collection) draws;
    none when it cannot be read as a font."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # any file may be named: a broken or foreign one simply draws nothing
        return frozenset()


def unicode_font() -> Path | None:
    """A TrueType font covering more than Latin-1, if the machine has one."""
    candidates = [os.environ.get(FONT_ENV) or "", *FONT_CANDIDATES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def local_time(text: str) -> str:
    """A UTC time as the station's local date and time, DD/MM/YYYY HH:MM."""
    try:
        return _parse_utc(text).astimezone().strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return text


def _birth(value: Any) -> str:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def render_pdf(text: CertificateText) -> bytes:
    """The certificate as PDF bytes (A4, one page in the usual case)."""
    import qrcode
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    family = add_body_font(pdf) or "Helvetica"
    if family == "Helvetica":
        _require_latin1(text)
    else:
        add_fallback_fonts(pdf, _printed_values(text))
    pdf.set_title(text.kind_title)
    pdf.set_creator("fieldkit")
    pdf.set_keywords(text.payload)
    pdf.add_page()

    def line(value: str, *, size: float = 10.5, style: str = "", height: float = 5.5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, height, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(mm: float = 3) -> None:
        pdf.ln(mm)

    line(text.kind_title.upper(), size=16, style="B", height=8)
    line(
        _("Issued by {station} (incident {incident})").format(
            station=text.station, incident=text.incident
        ),
        size=9,
    )
    gap(5)
    line(
        _(
            "I, the undersigned {clinician}, registration number {registration}, certify that I"
            " examined on {date}, at {place}, the person named below."
        ).format(
            clinician=text.clinician,
            registration=text.registration,
            date=local_time(text.examined_at),
            place=text.place,
        )
    )
    gap()
    person = text.person
    name_rows = [
        (_("Family name"), person.get("family_name") or "X"),
        (_("Given names"), person.get("given_names") or ""),
        (_("Birth date"), _birth(person["birth_date"]) if person.get("birth_date") else ""),
        (_("Victim number"), person.get("nf399") or ""),
    ]
    for label, value in name_rows:
        if value:
            pdf.set_font(family, "B", 10.5)
            pdf.cell(45, 5.5, label)
            pdf.set_font(family, "", 10.5)
            pdf.multi_cell(0, 5.5, str(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    gap()
    line(
        _(
            "Declaration of the person about where they were at the time of the events"
            " (recorded on {date}):"
        ).format(date=local_time(text.declared_at)),
        style="B",
    )
    line(f"« {text.declaration} »")
    gap()
    line(_("Findings"), style="B")
    line(text.findings or _("None stated."))
    gap()
    line(_("Psychological impact"), style="B")
    line(text.impact or _("None stated."))
    gap()
    line(
        _("Total incapacity for work (ITT): {days} days.").format(days=text.itt_days),
        style="B",
    )
    gap()
    line(_("Certificate issued at the request of the person and handed to them in person."))
    gap(4)
    line(
        _("Victims' helpline: {number} (free, every day).").format(number=text.hotline),
        size=12,
        style="B",
        height=7,
    )
    gap(4)

    # The signature block: the QR code of the signed payload and the same code in small print.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(text.payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    module = 0.6  # mm: a 45-49 module code is about 28 mm wide
    size = module * len(matrix)
    if pdf.get_y() + size + 25 > pdf.h - pdf.b_margin:
        pdf.add_page()
    top, left = pdf.get_y(), pdf.l_margin
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            pdf.rect(
                left + start * module,
                top + row_index * module,
                (column - start) * module,
                module,
                style="F",
            )
    pdf.set_xy(left + size + 6, top)
    pdf.set_font(family, "B", 10)
    pdf.multi_cell(0, 5, _("Signature"), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(family, "", 9)
    pdf.multi_cell(
        0,
        4.5,
        _(
            "{clinician}. Electronically signed by station {station_id} on {date};"
            " certificate {certificate_id}. Check it offline with"
            " 'fieldkit certificate verify'."
        ).format(
            clinician=text.clinician,
            station_id=text.station_id,
            date=local_time(text.issued_at),
            certificate_id=text.certificate_id,
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(max(pdf.get_y(), top + size) + 3)
    pdf.set_font("Courier", "", 6.5)
    pdf.multi_cell(0, 3, text.payload, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


PRINTED_PERSON_FIELDS = ("family_name", "given_names", "birth_date", "nf399")


def _printed_values(text: CertificateText) -> list[str]:
    """The texts of a certificate that come from the station and the person, as printed."""
    return [
        text.kind_title,
        text.station,
        text.incident,
        text.clinician,
        text.registration,
        text.place,
        text.declaration,
        text.findings or "",
        text.impact or "",
        text.hotline,
        *(str(text.person.get(name) or "") for name in PRINTED_PERSON_FIELDS),
    ]


def _require_latin1(text: CertificateText) -> None:
    try:
        for value in _printed_values(text):
            value.encode("latin-1")
    except UnicodeEncodeError:
        raise FieldkitError(
            _(
                "No Unicode font was found to print this certificate: install the DejaVu fonts or"
                " set FIELDKIT_FONT to a TrueType font."
            )
        ) from None
