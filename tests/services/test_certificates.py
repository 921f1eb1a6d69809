"""Certificates: the station key, the signed PDF and its QR code, offline verification."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.model import station_key_id
from fieldkit.errors import FieldkitError, NotFound, PermissionDenied, ValidationError
from fieldkit.i18n import set_language
from fieldkit.services import certificates as certs
from fieldkit.services import pump as pump_svc
from fieldkit.services.persons import PersonInput
from fieldkit.services.station import open_station
from fieldkit.store.store import Store
from tests.conftest import PASSPHRASE

NUMBER = "FR075BSPP2026TR000123"


def _declared(store: Store, number: str = NUMBER, **identity: str) -> str:
    person_id = pump_svc.register_person(
        store, "dr", PersonInput(nf399=number, **identity)
    ).person_id
    pump_svc.record_declaration(
        store, "dr", person_id, "J'étais en terrasse, côté rue, à 5 m de l'entrée.", "Dr Martin"
    )
    return person_id


def _issue(store: Store, person_id: str, out: Path, **options: Any) -> certs.IssuedCertificate:
    fields: dict[str, Any] = {
        "findings": "Sidération, pleurs, tremblements.",
        "impact": "Reviviscences, troubles du sommeil.",
        **options,
    }
    return certs.issue_certificate(
        store, "dr", person_id, "Dr Anne Martin", "10001234567", 3, out=out, **fields
    )


@pytest.fixture
def issued(pump: Store, tmp_path: Path) -> tuple[Store, certs.IssuedCertificate, bytes]:
    person_id = _declared(pump, family_name="Nguyễn", given_names="Thị Lan")
    cert = _issue(pump, person_id, tmp_path / "out" / "certificat.pdf")
    return pump, cert, cert.path.read_bytes()


# --- the station key ---------------------------------------------------------------------------


def test_signing_key_is_created_once_and_kept_encrypted(pump: Store, tmp_path: Path):
    key = certs.public_key_hex(pump)
    assert len(key) == 64 and certs.public_key_hex(pump) == key
    raw = pump.get_secret(certs.SIGNING_SECRET)
    assert raw is not None and len(raw) == 32
    pump.close()
    reopened = open_station(tmp_path / "PUMP-1", PASSPHRASE)
    try:
        assert certs.public_key_hex(reopened) == key
        assert certs.known_signers(reopened) == {reopened.station_id: (key,)}
    finally:
        reopened.close()
    for path in (tmp_path / "PUMP-1").iterdir():
        assert raw not in path.read_bytes(), path.name


def test_known_signers_and_their_refusals(make_station: Callable[..., Any]):
    a = make_station(role="pump", name="PUMP-A")
    b = make_station(role="pump", name="PUMP-B")
    key_b = certs.public_key_hex(b)
    certs.add_signer(a, b.station_id, key_b.upper())
    assert certs.known_signers(a)[b.station_id] == (key_b,)
    assert json.loads(a.meta[certs.SIGNERS_META]) == {b.station_id: key_b}
    certs.add_signer(a, b.station_id, key_b)  # the same key again is fine
    with pytest.raises(ValidationError, match="déjà connu avec une autre clé"):
        certs.add_signer(a, b.station_id, certs.public_key_hex(a))
    certs.add_signer(a, b.station_id, certs.public_key_hex(a), replace=True)
    with pytest.raises(ValidationError, match="64 chiffres hexadécimaux"):
        certs.add_signer(a, "c0ffee", "abcd")
    with pytest.raises(ValidationError, match="64 chiffres hexadécimaux"):
        certs.add_signer(a, "c0ffee", "zz" * 32)
    with pytest.raises(ValidationError, match="identifiant de poste"):
        certs.add_signer(a, "bad id\n", key_b)
    with pytest.raises(ValidationError, match="ce poste lui-même"):
        certs.add_signer(a, a.station_id, key_b)


# --- the keys a station publishes and the keys it knows ------------------------------------------


def _key_rows(store: Store) -> list[tuple[str, str, str]]:
    return store.db.execute("SELECT id, station_id, public_key FROM station_keys").fetchall()


def test_a_pump_publishes_its_key_when_it_creates_it(make_station: Callable[..., Any]):
    pump = make_station(role="pump", name="PUMP-1")
    police = make_station(role="police", name="POLICE-1")
    assert _key_rows(pump) == [] and pump.local_change_count() == 0
    key = certs.public_key_hex(pump)
    assert _key_rows(pump) == [(station_key_id(pump.station_id, key), pump.station_id, key)]
    row = next(iter(pump.db["station_keys"].rows))
    assert (row["station_name"], row["role"], row["origin"]) == ("PUMP-1", "pump", pump.station_id)
    assert pump.local_change_count() == 1
    certs.public_key_hex(pump)  # once only
    assert pump.local_change_count() == 1
    # Other roles sign nothing others check: their key stays their own, nothing is recorded.
    certs.known_signers(police)
    assert _key_rows(police) == [] and police.local_change_count() == 0


def test_a_pump_whose_key_predates_publication_publishes_it_at_opening(
    make_station: Callable[..., Any], tmp_path: Path
):
    pump = make_station(role="pump", name="PUMP-1")
    pump.set_secret(certs.SIGNING_SECRET, os.urandom(32))  # as a station of an earlier version
    assert _key_rows(pump) == []
    pump.close()
    reopened = open_station(tmp_path / "PUMP-1", PASSPHRASE)
    try:
        assert [r[2] for r in _key_rows(reopened)] == [certs.public_key_hex(reopened)]
        assert reopened.local_change_count() == 1
    finally:
        reopened.close()
    # A PUMP without a key yet records nothing by being opened.
    fresh = make_station(role="pump", name="PUMP-2")
    fresh.close()
    again = open_station(tmp_path / "PUMP-2", PASSPHRASE)
    try:
        assert _key_rows(again) == [] and again.get_secret(certs.SIGNING_SECRET) is None
    finally:
        again.close()


def test_a_pump_whose_key_predates_publication_publishes_it_when_it_signs(pump: Store):
    pump.set_secret(certs.SIGNING_SECRET, os.urandom(32))
    _declared(pump)
    assert [r[2] for r in _key_rows(pump)] == [certs.public_key_hex(pump)]


def test_a_key_written_by_another_station_under_a_station_s_id_is_never_trusted(
    make_station: Callable[..., Any],
):
    pump = make_station(role="pump", name="PUMP-1")
    hostile = make_station(role="pump", name="PUMP-2")
    verifier = make_station(role="police", name="POLICE-1")
    key = certs.public_key_hex(pump)
    forged_key = certs.public_key_hex(hostile)
    # What a tampered bundle or an old relay could hand over: the hub refuses it in a push.
    hostile.record(
        "station_key",
        station_key_id(pump.station_id, forged_key),
        {"station_id": pump.station_id, "public_key": forged_key, "role": "pump"},
        "op",
    )
    verifier.apply(pump.all_changes() + hostile.all_changes())
    assert len(_key_rows(verifier)) == 3
    signers = certs.known_signers(verifier)
    assert signers[pump.station_id] == (key,)
    assert signers[hostile.station_id] == (forged_key,)


def test_trust_by_hand_beside_synced_keys(make_station: Callable[..., Any]):
    pump = make_station(role="pump", name="PUMP-1")
    verifier = make_station(role="police", name="POLICE-1")
    key = certs.public_key_hex(pump)
    verifier.apply(pump.all_changes())
    certs.add_signer(verifier, pump.station_id, key)  # the synced key again: fine
    with pytest.raises(ValidationError, match="déjà connu avec une autre clé"):
        certs.add_signer(verifier, pump.station_id, certs.public_key_hex(verifier))
    other = "cd" * 32
    certs.add_signer(verifier, pump.station_id, other, replace=True)
    assert set(certs.known_signers(verifier)[pump.station_id]) == {key, other}


def test_migration_10_adds_station_keys_to_a_store_at_version_9(tmp_path: Path):
    from fieldkit.store import keys
    from fieldkit.store.connection import connect
    from fieldkit.store.migrations import current_version, migrate

    db = connect(
        tmp_path / "s.db", keys.create_keyfile(tmp_path / "s.keys", PASSPHRASE), create=True
    )
    migrate(db, target=9)
    assert "station_keys" not in db.table_names()
    migrate(db)
    assert current_version(db) >= 10 and "station_keys" in db.table_names()
    columns = {c.name for c in db["station_keys"].columns}
    assert {"station_id", "public_key", "station_name", "role", "created_at", "origin"} <= columns
    migrate(db)  # a rerun changes nothing
    assert "station_keys" in db.table_names()


# --- issuing -----------------------------------------------------------------------------------


def test_issued_certificate_verifies_as_file_and_as_payload(
    issued: tuple[Store, certs.IssuedCertificate, bytes],
):
    store, cert, data = issued
    signers = certs.known_signers(store)
    as_file = certs.verify(data, signers)
    assert as_file.valid, as_file.reason
    assert as_file.reason == "Certificat valide."
    assert as_file.certificate_id == cert.certificate_id
    assert as_file.station_id == store.station_id
    assert as_file.issued_at == cert.issued_at
    assert as_file.declaration_hash == cert.declaration_hash
    assert as_file.fingerprint == hashlib.sha256(data).hexdigest() == cert.fingerprint
    as_code = certs.verify(cert.payload, signers)
    assert as_code.valid and as_code.certificate_id == cert.certificate_id
    assert certs.verify(cert.payload.encode() + b"\n", signers).valid  # a payload file
    assert cert.payload.startswith("FKC1.") and len(cert.payload) < 200


def test_the_file_is_a_pdf_with_the_code_and_a_signature_trailer(
    issued: tuple[Store, certs.IssuedCertificate, bytes],
):
    store, cert, data = issued
    assert data.startswith(b"%PDF-")
    body, _sep, trailer = data.rstrip(b"\n").rpartition(b"\n")
    assert body.endswith(b"%%EOF")
    tag, station, signature = trailer.split(b" ")
    assert (tag, station.decode()) == (b"%FIELDKIT-SIG", store.station_id)
    assert len(base64.b64decode(signature)) == 64
    assert f"/Keywords ({cert.payload})".encode() in data


def test_the_store_keeps_metadata_and_fingerprint_only(
    issued: tuple[Store, certs.IssuedCertificate, bytes],
):
    store, cert, data = issued
    [row] = certs.certificates(store)
    assert row["id"] == cert.certificate_id
    assert row["kind"] == "initial" and row["itt_days"] == 3
    assert (row["clinician"], row["registration"]) == ("Dr Anne Martin", "10001234567")
    assert row["fingerprint"] == hashlib.sha256(data).hexdigest()
    [declaration] = pump_svc.declarations(store, row["person_id"])
    assert row["declaration_hash"] == certs.declaration_hash(declaration).hex()
    logged = [c for c in store.all_changes() if c.entity == "certificate"]
    assert len(logged) == 1 and "Sidération" not in json.dumps(dict(logged[0].values))


def _flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_any_changed_byte_is_refused(issued: tuple[Store, certs.IssuedCertificate, bytes]):
    store, _cert, data = issued
    signers = certs.known_signers(store)
    trailer_start = data.rindex(b"%FIELDKIT-SIG")
    positions = sorted(
        set(range(0, trailer_start, 61))
        | set(range(trailer_start - 40, len(data)))
        | {data.index(b"/Keywords") + 20}
    )
    for index in positions:
        result = certs.verify(_flipped(data, index), signers)
        assert not result.valid, index
        assert result.reason.endswith("."), result.reason
    body_change = certs.verify(_flipped(data, 500), signers)
    assert body_change.reason == (
        "Le fichier ne correspond pas à sa signature : il a été modifié après avoir été délivré."
    )


def test_spare_bits_of_the_signature_cannot_be_flipped(
    issued: tuple[Store, certs.IssuedCertificate, bytes],
):
    store, cert, data = issued
    signers = certs.known_signers(store)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = data.rindex(b"==") - 1  # last base64 digit: its 2 low bits are spare
    twin = alphabet[alphabet.index(chr(data[last])) ^ 1].encode()
    assert not certs.verify(data[:last] + twin + data[last + 1 :], signers).valid
    url = alphabet[:62] + "-_"
    code = cert.payload
    spare = url[url.index(code[-1]) ^ 1]
    assert not certs.verify(code[:-1] + spare, signers).valid


def test_truncated_unsigned_or_foreign_files_are_refused(
    issued: tuple[Store, certs.IssuedCertificate, bytes],
):
    store, _cert, data = issued
    signers = certs.known_signers(store)
    unsigned = data[: data.rindex(b"%FIELDKIT-SIG")]
    assert "ne porte pas de signature" in certs.verify(unsigned, signers).reason
    assert not certs.verify(data[:-10], signers).valid
    assert not certs.verify(b"", signers).valid
    assert not certs.verify(b"%PDF-1.4 hello", signers).valid
    assert not certs.verify(data + b"trailing", signers).valid


def test_a_file_re_signed_by_another_known_station_is_refused(
    issued: tuple[Store, certs.IssuedCertificate, bytes], make_station: Callable[..., Any]
):
    store, _cert, data = issued
    other = make_station(role="pump", name="PUMP-2")
    forged = certs.sign_file(other, data[: data.rindex(b"%FIELDKIT-SIG")])
    signers = {**certs.known_signers(store), **certs.known_signers(other)}
    result = certs.verify(forged, signers)
    assert not result.valid and "postes différents" in result.reason
    # a signed file without any certificate code in it
    plain = certs.sign_file(other, b"%PDF-1.4\n%%EOF\n")
    assert "aucun code de certificat" in certs.verify(plain, signers).reason


def test_a_certificate_from_an_unknown_station_is_refused_until_trusted(
    issued: tuple[Store, certs.IssuedCertificate, bytes], make_station: Callable[..., Any]
):
    store, cert, data = issued
    verifier = make_station(role="police", name="POLICE-1")
    signers = certs.known_signers(verifier)
    for target in (data, cert.payload):
        result = certs.verify(target, signers)
        assert not result.valid
        assert result.reason == (
            f"Ce certificat a été signé par le poste {store.station_id}, qui ne fait pas partie"
            " des postes connus : on ne peut pas s'y fier."
        )
    certs.add_signer(verifier, store.station_id, certs.public_key_hex(store))
    assert certs.verify(data, certs.known_signers(verifier)).valid
    assert certs.verify(cert.payload, certs.known_signers(verifier)).valid


def test_a_payload_forged_with_another_key_is_refused(
    issued: tuple[Store, certs.IssuedCertificate, bytes], make_station: Callable[..., Any]
):
    store, cert, _data = issued
    other = make_station(role="pump", name="PUMP-2")
    genuine = certs.decode_payload(cert.payload)
    unsigned = certs.Payload(
        genuine.certificate_id, store.station_id, genuine.issued_at, genuine.declaration_hash
    )
    forged = certs.Payload(
        genuine.certificate_id,
        store.station_id,
        genuine.issued_at,
        genuine.declaration_hash,
        certs.signing_key(other).sign(b"FKC1." + unsigned.signed_part()),
    ).encode()
    result = certs.verify(forged, certs.known_signers(store))
    assert not result.valid and "falsifié" in result.reason
    for broken in ("FKC1.", "FKC1.!!!", "FKC2." + cert.payload[5:], cert.payload[:-4], "hello"):
        assert "n'est pas un code de certificat" in certs.verify(broken, {}).reason


def test_english_reasons(issued: tuple[Store, certs.IssuedCertificate, bytes]):
    store, cert, data = issued
    set_language("en")
    assert certs.verify(data, certs.known_signers(store)).reason == "Valid certificate."
    assert "not among the known stations" in certs.verify(cert.payload, {}).reason


def test_names_in_every_script_are_printed(pump: Store, tmp_path: Path):
    for index, (family, given) in enumerate(
        [("بن علي", "ياسمين"), ("Ørsted-Łukasiewicz", "Zoë"), ("[b]x[/b]", "Anna")]
    ):
        person_id = _declared(
            pump, f"FR075BSPP2026TR00013{index}", family_name=family, given_names=given
        )
        cert = _issue(pump, person_id, tmp_path / f"c{index}.pdf", kind="care")
        assert certs.verify(cert.path.read_bytes(), certs.known_signers(pump)).valid
        assert b"FontFile2" in cert.path.read_bytes()  # the Unicode body font, embedded
        assert b"Fallback" not in cert.path.read_bytes()  # its own glyphs were enough


CJK_FONT = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"


@pytest.mark.skipif(
    not Path(CJK_FONT).is_file(),
    reason="needs Debian's fonts-droid-fallback (.ci/run installs it where it can)",
)
def test_chinese_names_are_printed_with_a_fallback_font(
    pump: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(certs, "FALLBACK_FONT_CANDIDATES", ())
    monkeypatch.setenv(certs.FALLBACK_FONT_ENV, f"/nowhere/font.ttf{os.pathsep}{CJK_FONT}")
    person_id = _declared(pump, family_name="王", given_names="小明")
    data = _issue(pump, person_id, tmp_path / "c.pdf").path.read_bytes()
    assert certs.verify(data, certs.known_signers(pump)).valid
    assert b"/BaseFont /" in data and b"DroidSansFallback" in data  # embedded, used for 王 小明
    assert len(certs.certificates(pump)) == 1


def test_a_name_no_font_can_print_is_refused_before_anything_is_recorded(
    pump: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(certs, "FALLBACK_FONT_CANDIDATES", ())
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"\x00\x01\x00\x00 not a font")
    monkeypatch.setenv(certs.FALLBACK_FONT_ENV, str(not_a_font))
    person_id = _declared(pump, family_name="王", given_names="小明")
    with pytest.raises(FieldkitError) as refused:
        _issue(pump, person_id, tmp_path / "c.pdf")
    assert refused.value.message.startswith("Ce poste n'a aucune police pour imprimer 王小明 :")
    assert "fonts-noto-cjk" in refused.value.message
    assert certs.certificates(pump) == [] and not (tmp_path / "c.pdf").exists()


def test_certificate_refusals(pump: Store, tmp_path: Path, make_station: Callable[..., Any]):
    out = tmp_path / "c.pdf"
    person_id = pump_svc.register_person(pump, "dr", PersonInput(nf399=NUMBER)).person_id
    with pytest.raises(ValidationError, match="première déclaration"):
        _issue(pump, person_id, out)
    pump_svc.record_declaration(pump, "dr", person_id, "Terrasse", "Dr Martin")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"itt_days": -1}, "ITT"),
        ({"itt_days": "3 jours"}, "ITT"),
        ({"itt_days": 366}, "ITT"),
        ({"registration": ""}, "numéro d'enregistrement"),
        ({"registration": "<script>"}, "ne peut contenir"),
        ({"clinician": " "}, "nom du soignant"),
        ({"clinician": "Dr\x07Martin"}, "contrôle"),
        ({"kind": "fake"}, "Type de certificat inconnu"),
        ({"findings": "a\u202eb"}, "invisible"),
    ]
    for overrides, message in cases:
        args: dict[str, Any] = {
            "clinician": "Dr Martin",
            "registration": "10001234567",
            "itt_days": 2,
            **overrides,
        }
        with pytest.raises(ValidationError, match=message):
            certs.issue_certificate(pump, "dr", person_id, out=out, **args)
    with pytest.raises(NotFound):
        certs.issue_certificate(pump, "dr", "nf-nobody", "Dr M", "123", 1, out=out)
    assert certs.certificates(pump) == [] and not out.exists()
    police = make_station(role="police", name="POLICE-1")
    with pytest.raises(PermissionDenied, match="Seul un poste PUMP"):
        certs.issue_certificate(police, "o", person_id, "Dr M", "123", 1, out=out)


def test_an_altered_declaration_blocks_the_certificate(pump: Store, tmp_path: Path):
    person_id = _declared(pump)
    pump.db.execute(
        "UPDATE declarations SET text = 'Devant la porte' WHERE person_id = ?", [person_id]
    )
    with pytest.raises(ValidationError, match="a été modifiée"):
        _issue(pump, person_id, tmp_path / "c.pdf")
    assert certs.certificates(pump) == []


def test_an_unwritable_destination_saves_nothing(pump: Store, tmp_path: Path):
    person_id = _declared(pump)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(FieldkitError, match="Impossible d'écrire le certificat"):
        _issue(pump, person_id, blocker / "c.pdf")
    assert certs.certificates(pump) == []


def test_without_a_unicode_font_latin_names_still_print(
    pump: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(certs, "FONT_CANDIDATES", ())
    monkeypatch.delenv(certs.FONT_ENV, raising=False)
    latin = _declared(pump, family_name="Lefèvre")
    assert certs.verify(
        _issue(pump, latin, tmp_path / "a.pdf").path.read_bytes(), certs.known_signers(pump)
    )
    arabic = _declared(pump, "FR075BSPP2026TR000124", family_name="بن علي")
    with pytest.raises(FieldkitError, match="Aucune police Unicode"):
        _issue(pump, arabic, tmp_path / "b.pdf")
    assert len(certs.certificates(pump)) == 1
