"""Commands of the field services: certificates, witnesses, leads, death stages, PUMP records,
family enquiries.

``register(group)`` adds them to the ``fieldkit`` click group (``fieldkit.cli.cli``); run
``python -m fieldkit.cli_services ...`` to use them before the group registers them itself.
Thin like ``fieldkit.cli``: parse, call a service, print; errors are one sentence on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fieldkit.cli import _open, _operator, station_options
from fieldkit.errors import FieldkitError, ValidationError
from fieldkit.i18n import _


class CertificateRefused(FieldkitError):
    """A certificate or code that does not verify."""

    exit_code = 9


def _person_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--person", "person_id", default=None, help="Person id.")(fn)
    return click.option("--nf399", default=None, help="Victim number (bracelet).")(fn)


def _resolve_person(store: Any, nf399: str | None, person_id: str | None) -> str:
    """The person id given directly or through a victim number known to this station."""
    from fieldkit.domain import validation
    from fieldkit.errors import NotFound
    from fieldkit.services.station import number_format
    from fieldkit.store import queries

    if bool(nf399) == bool(person_id):
        raise ValidationError(_("Give either --nf399 or --person."))
    if person_id:
        return person_id
    number = validation.validate_nf399(str(nf399), number_format(store), confirmed_outside=True)
    binding = queries.number_binding(store.db, number)
    if binding.kept is not None:
        raise NotFound(
            _(
                "Victim number {number} was merged into the record {person_id}: give"
                " --person {person_id} if that is the person."
            ).format(number=number, person_id=binding.kept["id"])
        )
    row = binding.live
    if row is None:
        raise NotFound(
            _("No person with victim number {number} in this station's store.").format(
                number=number
            )
        )
    return str(row["id"])


# --- certificates ------------------------------------------------------------------------------


@click.group()
def certificate() -> None:
    """Care certificates: issue (PUMP), verify offline, station keys."""


CERTIFICATE_MAX_BYTES = 16 * 1024 * 1024  # a certificate is a page: tens of kilobytes


def _read_signers(path: Path) -> dict[str, str]:
    from fieldkit.services.certificates import parse_public_key
    from fieldkit.services.files import read_limited

    try:
        data = json.loads(read_limited(path, 1024 * 1024).decode("utf-8"))
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValidationError(
            _("The signers file must be a JSON object of station id to public key.")
        )
    for key in data.values():
        parse_public_key(key)
    return {str(k): v for k, v in data.items()}


@certificate.command("verify")
@station_options
@click.argument("target")
@click.option(
    "--signers",
    "signers_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="JSON {station_id: public key hex} to check against, instead of the station's keys.",
)
def certificate_verify(
    home: Path, passphrase_file: Path | None, target: str, signers_file: Path | None
) -> None:
    """Check a certificate FILE or the code of its QR (FKC1....), offline."""
    from fieldkit.services.certificates import Signers, known_signers, verify

    path = Path(target)
    signers: Signers
    data: bytes | str
    if target.strip().startswith("FKC1."):
        data = target
    else:
        from fieldkit.services.files import read_limited

        data = read_limited(path, CERTIFICATE_MAX_BYTES)
    if signers_file is not None:
        signers = _read_signers(signers_file)
    else:
        store = _open(home, passphrase_file)
        try:
            signers = known_signers(store)
        finally:
            store.close()
    result = verify(data, signers)
    if not result.valid:
        raise CertificateRefused(result.reason)
    from fieldkit.services.certificates import local_time

    click.echo(
        _("Valid certificate {certificate_id}, issued by station {station} on {date}.").format(
            certificate_id=result.certificate_id,
            station=result.station_id,
            date=local_time(result.issued_at or ""),
        )
    )


@certificate.command("issue")
@station_options
@_person_options
@click.option("--clinician", required=True, help="Name of the clinician who examined.")
@click.option("--registration", required=True, help="RPPS or ADELI number.")
@click.option("--itt", "itt_days", required=True, help="Days of total incapacity for work.")
@click.option("--findings", default=None)
@click.option("--impact", default=None, help="Psychological impact.")
@click.option("--kind", type=click.Choice(["initial", "care"]), default="initial")
@click.option("--place", default=None, help="Place of the examination (default: the site).")
@click.option("--examined-at", default=None, help="HH:MM or YYYY-MM-DD HH:MM (default: now).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
def certificate_issue(
    home: Path,
    passphrase_file: Path | None,
    nf399: str | None,
    person_id: str | None,
    clinician: str,
    registration: str,
    itt_days: str,
    findings: str | None,
    impact: str | None,
    kind: str,
    place: str | None,
    examined_at: str | None,
    out: Path,
) -> None:
    """Issue a signed certificate PDF (PUMP); prints the certificate id."""
    from fieldkit.services.certificates import issue_certificate

    store = _open(home, passphrase_file)
    try:
        issued = issue_certificate(
            store,
            _operator(),
            _resolve_person(store, nf399, person_id),
            clinician,
            registration,
            itt_days,
            out=out,
            findings=findings,
            impact=impact,
            kind=kind,
            examined_at=examined_at,
            place=place,
        )
    finally:
        store.close()
    click.echo(issued.certificate_id)
    click.echo(_("Certificate written to {path}.").format(path=out), err=True)


@certificate.command("key")
@station_options
def certificate_key(home: Path, passphrase_file: Path | None) -> None:
    """Print this station's id and public signing key."""
    from fieldkit.services.certificates import public_key_hex

    store = _open(home, passphrase_file)
    try:
        click.echo(f"{store.station_id} {public_key_hex(store)}")
    finally:
        store.close()


@certificate.command("trust")
@station_options
@click.argument("station_id")
@click.argument("public_key")
@click.option("--replace", is_flag=True, help="Replace the key already known for this station.")
def certificate_trust(
    home: Path, passphrase_file: Path | None, station_id: str, public_key: str, replace: bool
) -> None:
    """Trust a station's public key for the certificates and declarations it signs."""
    from fieldkit.services.certificates import add_signer

    store = _open(home, passphrase_file)
    try:
        add_signer(store, station_id, public_key, replace=replace)
    finally:
        store.close()
    click.echo(_("Station {station} is now known.").format(station=station_id))


# --- police ------------------------------------------------------------------------------------


@click.group()
def witness() -> None:
    """Witness register (police)."""


@witness.command("add")
@station_options
@click.option("--family-name", default=None)
@click.option("--given-names", default=None)
@click.option("--phone", default=None)
@click.option("--email", default=None)
@click.option("--address", default=None)
@click.option("--where", default=None, help="Where the witness was.")
@click.option("--saw", default=None, help="What they saw, in a line.")
@click.option("--left-scene", is_flag=True, help="The witness had left the scene.")
@click.option("--recontact", is_flag=True, help="The witness wishes to be recontacted.")
@click.option("--oriented-to", default=None)
@_person_options
def witness_add(
    home: Path,
    passphrase_file: Path | None,
    family_name: str | None,
    given_names: str | None,
    phone: str | None,
    email: str | None,
    address: str | None,
    where: str | None,
    saw: str | None,
    left_scene: bool,
    recontact: bool,
    oriented_to: str | None,
    nf399: str | None,
    person_id: str | None,
) -> None:
    """Record a witness (police); prints the witness id."""
    from fieldkit.services.police import WitnessInput, add_witness

    store = _open(home, passphrase_file)
    try:
        linked = _resolve_person(store, nf399, person_id) if nf399 or person_id else None
        witness_id = add_witness(
            store,
            _operator(),
            WitnessInput(
                family_name=family_name,
                given_names=given_names,
                phone=phone,
                email=email,
                address=address,
                where=where,
                saw=saw,
                left_scene=left_scene,
                recontact=recontact,
                oriented_to=oriented_to,
                person_id=linked,
            ),
        )
    finally:
        store.close()
    click.echo(witness_id)


@witness.command("recontact")
@station_options
@click.option("--json", "as_json", is_flag=True, help="JSON Lines output.")
def witness_recontact(home: Path, passphrase_file: Path | None, as_json: bool) -> None:
    """Witnesses to recontact: those who left the scene or asked for it."""
    from fieldkit.services.police import recontact_list

    store = _open(home, passphrase_file)
    try:
        rows = recontact_list(store)
    finally:
        store.close()
    keys = ("id", "family_name", "given_names", "phone", "email", "where", "oriented_to")
    for row in rows:
        if as_json:
            click.echo(json.dumps({k: row.get(k) for k in keys}, ensure_ascii=False))
        else:
            name = " ".join(p for p in (row.get("family_name"), row.get("given_names")) if p)
            contact = row.get("phone") or row.get("email") or row.get("address") or ""
            click.echo(f"{name}\t{contact}\t{row.get('where') or ''}")


@click.group()
def lead() -> None:
    """Leads: possible identities of X persons (police)."""


@lead.command("add")
@station_options
@_person_options
@click.option("--identity", "possible_identity", required=True, help="The possible identity.")
@click.option("--source", required=True, help="Who or what suggests it.")
@click.option("--note", default=None)
def lead_add(
    home: Path,
    passphrase_file: Path | None,
    nf399: str | None,
    person_id: str | None,
    possible_identity: str,
    source: str,
    note: str | None,
) -> None:
    """Record a lead for an X person (police); prints the lead id."""
    from fieldkit.services.police import add_lead

    store = _open(home, passphrase_file)
    try:
        lead_id = add_lead(
            store,
            _operator(),
            _resolve_person(store, nf399, person_id),
            possible_identity,
            source,
            note,
        )
    finally:
        store.close()
    click.echo(lead_id)


@click.command("stage")
@station_options
@_person_options
@click.argument("stage", type=click.Choice(["identified", "announced"]))
@click.option("--officer", required=True, help="Officer recording the stage (OPJ to announce).")
def person_stage(
    home: Path,
    passphrase_file: Path | None,
    nf399: str | None,
    person_id: str | None,
    stage: str,
    officer: str,
) -> None:
    """Police only: record that a death was identified, then announced to the family."""
    from fieldkit.services.police import record_death_stage

    store = _open(home, passphrase_file)
    try:
        result = record_death_stage(
            store, _operator(), _resolve_person(store, nf399, person_id), stage, officer
        )
    finally:
        store.close()
    message = (
        _("Death of {person} recorded as identified by {officer}.")
        if result.stage == "identified"
        else _("Death of {person} recorded as announced by {officer}.")
    )
    click.echo(message.format(person=nf399 or person_id, officer=result.officer))


# --- PUMP --------------------------------------------------------------------------------------


@click.command("register")
@station_options
@click.option("--nf399", default=None, help="Victim number, if the person wears a bracelet.")
@click.option("--family-name", default=None)
@click.option("--given-names", default=None)
@click.option("--sex", default=None, help="F, M or U.")
@click.option("--birth-date", default=None, help="YYYY-MM-DD.")
@click.option("--phone", default=None)
@click.option("--confirm-outside-range", is_flag=True, help="Accept a number outside the ranges.")
def person_register(
    home: Path,
    passphrase_file: Path | None,
    nf399: str | None,
    family_name: str | None,
    given_names: str | None,
    sex: str | None,
    birth_date: str | None,
    phone: str | None,
    confirm_outside_range: bool,
) -> None:
    """PUMP: register a person seen, with or without a victim number; prints the person id."""
    from fieldkit.services.persons import PersonInput
    from fieldkit.services.pump import register_person

    store = _open(home, passphrase_file)
    try:
        result = register_person(
            store,
            _operator(),
            PersonInput(
                nf399=nf399,
                family_name=family_name,
                given_names=given_names,
                sex=sex,
                birth_date=birth_date,
                phone=phone,
            ),
            confirmed_outside=confirm_outside_range,
        )
    finally:
        store.close()
    click.echo(result.person_id)


@click.group()
def declaration() -> None:
    """First declarations of location (PUMP)."""


@declaration.command("add")
@station_options
@_person_options
@click.option("--text", required=True, help="Where the person was, in their own words.")
@click.option("--clinician", required=True, help="Clinician who takes the declaration.")
def declaration_add(
    home: Path,
    passphrase_file: Path | None,
    nf399: str | None,
    person_id: str | None,
    text: str,
    clinician: str,
) -> None:
    """Record the signed, timestamped first declaration; prints its id."""
    from fieldkit.services.pump import record_declaration

    store = _open(home, passphrase_file)
    try:
        result = record_declaration(
            store, _operator(), _resolve_person(store, nf399, person_id), text, clinician
        )
    finally:
        store.close()
    click.echo(result.declaration_id)


@click.group()
def care() -> None:
    """Psychological care given (PUMP)."""


@care.command("add")
@station_options
@_person_options
@click.option("--care", "care_given", default=None, help="Care given.")
@click.option("--orientation", default=None, help="Where the person was oriented.")
@click.option("--notes", default=None)
def care_add(
    home: Path,
    passphrase_file: Path | None,
    nf399: str | None,
    person_id: str | None,
    care_given: str | None,
    orientation: str | None,
    notes: str | None,
) -> None:
    """Record care given and orientation; prints the event id."""
    from fieldkit.services.pump import record_care

    store = _open(home, passphrase_file)
    try:
        care_id = record_care(
            store,
            _operator(),
            _resolve_person(store, nf399, person_id),
            care_given,
            orientation,
            notes,
        )
    finally:
        store.close()
    click.echo(care_id)


# --- family enquiries --------------------------------------------------------------------------


@click.group()
def enquiry() -> None:
    """Family enquiries (CAF, CIAV call centre, police)."""


@enquiry.command("add")
@station_options
@click.option("--enquirer-name", default=None, help="Name of the person who asks.")
@click.option("--relation", default=None, help="Their relation to the person sought.")
@click.option("--phone", default=None, help="Phone to call the family back.")
@click.option("--language", default=None, help="Language the family speaks.")
@click.option("--staying-at", default=None, help="Where the family is staying.")
@click.option("--sought-family-name", default=None)
@click.option("--sought-given-names", default=None)
@click.option("--sought-sex", default=None, help="F, M or U.")
@click.option("--sought-age", default=None, help='An age or a range: 34, "30-35".')
@click.option("--sought-phone", default=None, help="Phone of the person sought.")
@click.option("--description", default=None, help="Build, hair, marks.")
@click.option("--clothing", default=None)
@click.option("--last-place", default=None, help="Where they were last seen.")
@click.option("--last-time", default=None, help="When they were last seen (HH:MM or ISO).")
def enquiry_add(home: Path, passphrase_file: Path | None, **fields: str | None) -> None:
    """Record a family's enquiry; prints its id. The hub's matcher gives it an outcome."""
    from fieldkit.services.caf import record_enquiry

    given = {name: value for name, value in fields.items() if value is not None}
    store = _open(home, passphrase_file)
    try:
        enquiry_id = record_enquiry(store, _operator(), **given)
    finally:
        store.close()
    click.echo(enquiry_id)


_ENQUIRY_LISTED = (
    "id",
    "reference",
    "enquirer_name",
    "relation",
    "sought_family_name",
    "sought_given_names",
    "status",
    "outcome",
    "outcome_place",
    "outcome_text",
)


@enquiry.command("list")
@station_options
@click.option("--json", "as_json", is_flag=True, help="JSON Lines output.")
def enquiry_list(home: Path, passphrase_file: Path | None, as_json: bool) -> None:
    """The station's enquiries, oldest first, with what the family may be told."""
    from fieldkit.services.caf import enquiries, enquiry_reference

    store = _open(home, passphrase_file)
    try:
        rows = enquiries(store)
    finally:
        store.close()
    for row in rows:
        row["reference"] = enquiry_reference(row)
        if as_json:
            click.echo(json.dumps({k: row.get(k) for k in _ENQUIRY_LISTED}, ensure_ascii=False))
        else:
            sought = " ".join(
                p for p in (row.get("sought_family_name"), row.get("sought_given_names")) if p
            )
            click.echo(
                f"{row['id']}\t{row['reference']}\t{sought}\t{row.get('status') or ''}"
                f"\t{row['outcome_text']}"
            )


# --- registration ------------------------------------------------------------------------------


def register(group: click.Group) -> None:
    """Add the commands of the field services to ``group`` (idempotent)."""
    groups: tuple[click.Group, ...] = (certificate, witness, lead, declaration, care, enquiry)
    for sub in groups:
        if sub.name not in group.commands:
            group.add_command(sub)
    existing = group.commands.get("person")
    if isinstance(existing, click.Group):
        person = existing
    else:
        person = click.Group("person", help="Persons: count, stages.")
        group.add_command(person)
    for command in (person_stage, person_register):
        if command.name not in person.commands:
            person.add_command(command)


def main() -> None:  # pragma: no cover - entry point of ``python -m fieldkit.cli_services``
    from fieldkit.cli import cli

    register(cli)
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
