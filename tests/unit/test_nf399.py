"""The victim number: scans from keyboard wedges, the SINUS shape, bracelet ranges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit import i18n
from fieldkit.domain.nf399 import (
    DEFAULT_FORMAT,
    DEFAULT_PATTERN,
    BraceletRange,
    NumberFormat,
    normalize_scan,
    number_taken_error,
    parse_range,
    validate_nf399,
)
from fieldkit.errors import NeedsConfirmation, ValidationError

NUMBER = "FR075BSPP2026TR000123"
RING = parse_range("FR075BSPP2026TR000100+10")


@pytest.fixture
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language("fr")


def refusal(func, *args, **kwargs) -> tuple[str | None, str]:  # noqa: ANN001
    with pytest.raises(ValidationError) as caught:
        func(*args, **kwargs)
    return caught.value.field, caught.value.message


# --- scans ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        NUMBER,
        "]Q1" + NUMBER,  # AIM symbology identifier of a QR code
        "]C0" + NUMBER + "\r\n",  # Code 128 with the scanner's Enter
        "]d2" + NUMBER,  # Data Matrix
        "\x02" + NUMBER + "\x03",  # STX ... ETX framing
        "\t " + NUMBER + " \n",
        NUMBER.lower(),
        "NF399:" + NUMBER,
        "nf399:" + NUMBER.lower(),
        "]Q1NF399:" + NUMBER + "\r",
        "https://sinus.example/v/" + NUMBER,
        "sinus?n=" + NUMBER,
        "FR 075 BSPP 2026 TR 000123",
        "FR075-BSPP-2026-TR-000123",
        "FR075–BSPP—2026\u00a0TR 000123",  # en/em dashes and a no-break space
        "ＦＲ０７５ＢＳＰＰ２０２６ＴＲ０００１２３",  # full-width characters
        "FR075BSPP2026\x1dTR000123",  # GS1 group separator
    ],
)
def test_normalize_scan_keeps_only_the_number(raw: str) -> None:
    assert normalize_scan(raw) == NUMBER


def test_normalize_scan_undoes_digits_typed_without_shift_on_an_azerty_keyboard() -> None:
    # The digit row of a French keyboard, unshifted: & é " ' ( - è _ ç à for 1 to 0 (a US-layout
    # scanner on a French laptop, or a rescuer without Caps Lock).
    assert normalize_scan('FRàè(BSPPéàé-TRààà&é"') == NUMBER
    assert normalize_scan("frà'_bspp éàé' tr ç'-è_à") == "FR048BSPP2024TR946780"


def test_normalize_scan_of_blank_input_is_empty() -> None:
    assert normalize_scan(" \r\n\x03") == ""


numbers = st.from_regex(DEFAULT_PATTERN, fullmatch=True)
prefixes = st.sampled_from(["", "]Q1", "]C0", "]E0", "]d2", "\x02", "NF399:", "nf399:", " ", "\t"])
suffixes = st.sampled_from(["", "\r", "\n", "\r\n", "\x03", "\t", "  ", "\x03\r\n"])


@settings(max_examples=200, deadline=None)
@given(prefix=prefixes, number=numbers, suffix=suffixes, lower=st.booleans())
def test_a_wrapped_scan_gives_back_the_number(
    prefix: str, number: str, suffix: str, lower: bool
) -> None:
    raw = prefix + (number.lower() if lower else number) + suffix
    assert normalize_scan(raw) == number
    assert validate_nf399(raw) == number


# --- the shape --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        NUMBER,
        "FR02ABSPP2026TR000001",
        "FR02BSDIS2099HP999999",
        "FR971SAMU2000TR000000",
        "BE001A1B22026HP123456",
    ],
)
def test_valid_numbers_are_accepted(number: str) -> None:
    assert validate_nf399(number) == number


def test_a_number_of_the_wrong_length_says_how_long_it_should_be() -> None:
    assert refusal(validate_nf399, "FR075BSPP2026TR00012") == (
        "nf399",
        "Le numéro victime FR075BSPP2026TR00012 doit compter 21 caractères et non 20, "
        "comme FR075BSPP2026TR000123.",
    )


def test_a_number_of_the_wrong_length_in_english(english: None) -> None:
    assert refusal(validate_nf399, "FR075BSPP2026TR0001234")[1] == (
        "Victim number FR075BSPP2026TR0001234 should be 21 characters long, not 22, "
        "like FR075BSPP2026TR000123."
    )


@pytest.mark.parametrize(
    "number",
    [
        "FR075BSPP1926TR000123",  # year outside 2000-2099
        "FR075BSPP2026XX000123",  # neither TR nor HP
        "FR02CBSPP2026TR000123",  # no such département
        "F1075BSPP2026TR000123",  # country with a digit
        "FR075BSPP2026TR00012O",  # letter O for a zero in the serial
        "FR075BS*P2026TR000123",
        "FR٠٧٥BSPP2026TR000123",  # Arabic-Indic digits are not digits of a number
    ],
)
def test_a_number_of_the_wrong_shape_names_the_parts(number: str) -> None:
    assert refusal(validate_nf399, number) == (
        "nf399",
        f"Le numéro victime {number} n'a pas la forme attendue : pays, département, entité "
        "émettrice, année, TR ou HP et numéro d'ordre à 6 chiffres, comme FR075BSPP2026TR000123.",
    )


def test_a_wrong_shape_in_english(english: None) -> None:
    assert refusal(validate_nf399, "FR075BSPP2026ZZ000123")[1] == (
        "Victim number FR075BSPP2026ZZ000123 does not have the expected shape: country, "
        "département, issuing entity, year, TR or HP and a 6-digit serial, like "
        "FR075BSPP2026TR000123."
    )


def test_an_empty_number_asks_for_a_scan() -> None:
    assert refusal(validate_nf399, " \r\n") == (
        "nf399",
        "Le numéro victime est vide : scannez le bracelet ou tapez le numéro.",
    )


def test_a_long_garbage_scan_is_shown_shortened() -> None:
    _field, message = refusal(validate_nf399, "A" * 500)
    assert "A" * 39 + "…" in message
    assert "A" * 41 not in message


def test_an_incident_may_use_its_own_number_format() -> None:
    fmt = NumberFormat(pattern=r"\d{10}", example="0001234567")
    assert validate_nf399("000-123-4567", fmt) == "0001234567"
    assert refusal(validate_nf399, NUMBER, fmt) == (
        "nf399",
        f"Le numéro victime {NUMBER} n'a pas la forme attendue, comme 0001234567.",
    )


def test_a_custom_format_accepts_only_ascii_digits_for_backslash_d() -> None:
    fmt = NumberFormat(pattern=r"\d{4}", example="0001")
    with pytest.raises(ValidationError):
        validate_nf399("٠٠٠١", fmt)


# --- ranges -----------------------------------------------------------------------------------


def test_a_number_inside_a_registered_range_is_accepted() -> None:
    assert (
        validate_nf399("FR075BSPP2026TR000109", DEFAULT_FORMAT, [RING]) == "FR075BSPP2026TR000109"
    )


def test_a_number_outside_every_range_needs_a_confirmation() -> None:
    with pytest.raises(NeedsConfirmation) as caught:
        validate_nf399("FR075BSPP2026TR000110", DEFAULT_FORMAT, [RING])
    assert caught.value.field == "nf399"
    assert caught.value.message == (
        "Le numéro victime FR075BSPP2026TR000110 est hors des plages de bracelets enregistrées "
        "sur ce poste : vérifiez-le, puis confirmez."
    )


def test_outside_the_ranges_in_english(english: None) -> None:
    with pytest.raises(NeedsConfirmation) as caught:
        validate_nf399("FR075BSPP2026TR000099", ranges=[RING])
    assert caught.value.message == (
        "Victim number FR075BSPP2026TR000099 is outside the bracelet ranges registered on this "
        "station: check it, then confirm."
    )


def test_a_confirmed_number_outside_the_ranges_is_accepted() -> None:
    number = "FR075BSPP2026TR000999"
    assert validate_nf399(number, ranges=[RING], confirmed_outside=True) == number


def test_without_registered_ranges_no_confirmation_is_asked() -> None:
    assert validate_nf399("FR075BSPP2026TR000999", ranges=[]) == "FR075BSPP2026TR000999"


def test_a_malformed_number_is_refused_even_when_confirmed() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_nf399("FR075", ranges=[RING], confirmed_outside=True)
    assert not isinstance(caught.value, NeedsConfirmation)


def test_a_range_contains_its_ends_and_nothing_beyond() -> None:
    assert "FR075BSPP2026TR000100" in RING
    assert "FR075BSPP2026TR000109" in RING
    assert "FR075BSPP2026TR000110" not in RING
    assert "FR075BSPP2026TR000099" not in RING
    assert "FR075BSPP2026HP000105" not in RING  # same serial, other prefix
    assert "FR075BSPP2026TR0000105" not in RING  # one digit too many
    assert "FR075BSPPTR" not in RING
    assert 105 not in RING


@pytest.mark.parametrize(
    "text",
    [
        "FR075BSPP2026TR000100-FR075BSPP2026TR000109",
        " FR075BSPP2026TR000100 - FR075BSPP2026TR000109 ",
        "FR075-BSPP-2026-TR-000100-FR075-BSPP-2026-TR-000109",
        "FR075BSPP2026TR000100..FR075BSPP2026TR000109",
        "fr075bspp2026tr000100 – fr075bspp2026tr000109",
        "FR075BSPP2026TR000100+10",
        "FR075BSPP2026TR000100 + 10",
    ],
)
def test_parse_range_reads_both_ends_or_a_ring(text: str) -> None:
    assert parse_range(text) == BraceletRange("FR075BSPP2026TR000100", "FR075BSPP2026TR000109")


def test_a_range_of_one_bracelet() -> None:
    assert parse_range(NUMBER + "+1") == BraceletRange(NUMBER, NUMBER)


def test_an_inverted_range_is_refused() -> None:
    assert refusal(parse_range, "FR075BSPP2026TR000109-FR075BSPP2026TR000100") == (
        "range",
        "La plage de bracelets FR075BSPP2026TR000109-FR075BSPP2026TR000100 est inversée : son "
        "premier numéro vient après le dernier.",
    )


def test_a_range_across_two_prefixes_is_refused() -> None:
    assert refusal(parse_range, "FR075BSPP2026TR000100-FR075BSPP2026HP000109") == (
        "range",
        "Les deux bornes de la plage de bracelets FR075BSPP2026TR000100-FR075BSPP2026HP000109 "
        "ne doivent différer que par le numéro d'ordre.",
    )


def test_a_ring_past_the_last_serial_is_refused() -> None:
    assert refusal(parse_range, "FR075BSPP2026TR999995+10") == (
        "range",
        "La plage de bracelets FR075BSPP2026TR999995+10 dépasse le dernier numéro d'ordre possible.",
    )


@pytest.mark.parametrize("count", ["0", "10001"])
def test_a_ring_count_is_between_1_and_10000(count: str) -> None:
    assert refusal(parse_range, f"{NUMBER}+{count}") == (
        "range",
        "Une plage de bracelets compte de 1 à 10000 numéros.",
    )


@pytest.mark.parametrize("text", ["", "garbage", NUMBER, f"{NUMBER}+ten", f"{NUMBER}-", "+10"])
def test_an_unreadable_range_shows_the_two_forms(text: str) -> None:
    assert refusal(parse_range, text) == (
        "range",
        f"La plage de bracelets {text.strip()} est illisible : écrivez PREMIER-DERNIER ou "
        "PREMIER+NOMBRE, comme FR075BSPP2026TR000123+10.",
    )


def test_a_range_with_a_bad_end_names_it() -> None:
    assert refusal(parse_range, f"{NUMBER}-FR075BSPP2026TR12") == (
        "range",
        "La borne FR075BSPP2026TR12 de la plage de bracelets n'est pas un numéro victime comme "
        "FR075BSPP2026TR000123.",
    )
    assert refusal(parse_range, "FR075BSPP1999TR000100+10") == (
        "range",
        "La borne FR075BSPP1999TR000100 de la plage de bracelets n'est pas un numéro victime "
        "comme FR075BSPP2026TR000123.",
    )


def test_an_unreadable_range_in_english(english: None) -> None:
    assert refusal(parse_range, "1-2")[1] == (
        "Bracelet range end 1 is not a victim number like FR075BSPP2026TR000123."
    )
    assert refusal(parse_range, "oops")[1] == (
        "Bracelet range oops is not readable: write FIRST-LAST or FIRST+COUNT, like "
        "FR075BSPP2026TR000123+10."
    )


def test_ranges_follow_the_incident_format() -> None:
    fmt = NumberFormat(pattern=r"[0-9]{8}", example="00000001")
    assert parse_range("00000100+10", fmt) == BraceletRange("00000100", "00000109")
    assert "00000105" in parse_range("00000100-00000109", fmt)


@settings(max_examples=100, deadline=None)
@given(start=st.integers(0, 999_000), count=st.integers(1, 999))
def test_a_ring_holds_exactly_count_numbers(start: int, count: int) -> None:
    ring = parse_range(f"FR075BSPP2026TR{start:06d}+{count}")
    inside = [n for n in range(start - 2, start + count + 2) if f"FR075BSPP2026TR{n:06d}" in ring]
    assert inside == list(range(start, start + count))


# --- a number already taken -------------------------------------------------------------------


def test_number_taken_error_names_the_other_person() -> None:
    error = number_taken_error(NUMBER, "DUPONT Jean")
    assert isinstance(error, ValidationError)
    assert error.field == "nf399"
    assert error.message == (
        f"Le numéro victime {NUMBER} est déjà attribué à DUPONT Jean : vérifiez le bracelet "
        "avant de continuer."
    )


def test_number_taken_error_in_english(english: None) -> None:
    assert number_taken_error(NUMBER, "X").message == (
        f"Victim number {NUMBER} is already bound to X: check the bracelet before going on."
    )
