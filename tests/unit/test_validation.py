"""Validation of identity, free text, dates, times, phone, triage and X descriptions."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit import i18n
from fieldkit.domain import validation
from fieldkit.domain.triage import Category, Refinement
from fieldkit.domain.validation import (
    DESCRIPTION_KEYS,
    TEXT_LIMITS,
    field_label,
    parse_category,
    parse_refinement,
    validate_age,
    validate_birth_date,
    validate_description,
    validate_event_time,
    validate_identity,
    validate_name,
    validate_phone,
    validate_sex,
    validate_text,
)
from fieldkit.errors import ValidationError

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 7, 14, 22, 40, tzinfo=PARIS)  # 20:40 UTC
TODAY = date(2026, 7, 14)


@pytest.fixture
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language("fr")


def refusal(func, *args, **kwargs) -> tuple[str | None, str]:  # noqa: ANN001
    with pytest.raises(ValidationError) as caught:
        func(*args, **kwargs)
    return caught.value.field, caught.value.message


def test_victim_number_api_is_reexported() -> None:
    assert validation.validate_nf399(" fr075bspp2026tr000123\r") == "FR075BSPP2026TR000123"
    assert validation.DEFAULT_FORMAT.example == "FR075BSPP2026TR000123"


# --- names ------------------------------------------------------------------------------------

NAMES = [
    "Dupont",
    "Xavier",
    "Xu",
    "Félix",
    "de La Croix",
    "Ben Ali",
    "Ould Xxx",
    "王秀英",
    "محمد",
    "عبد الله",
    "Jean-Pierre",
    "O'Brien",
    "N’Diaye",
    "van der Berg",
    "Nguyễn Thị Minh Khai",
    "Müller-Lüdenscheidt",
    "Ólafsdóttir",
    "Σωκράτης",
    "Дмитрий",
    "Malcolm X",
    "Probst",
    "Possamai",
    "Ou-Yang",
    "[b]x[/b]",  # markup is text like any other (shown as typed)
    "می\u200cخواهم",  # Persian with a zero-width non-joiner, which is part of the spelling
]


@pytest.mark.parametrize("name", NAMES)
def test_names_in_every_script_are_kept_as_typed(name: str) -> None:
    assert validate_name(name, "family_name") == name
    assert validate_identity(name, name) == (name, name)


def test_a_name_is_trimmed_and_nfc_normalised() -> None:
    decomposed = "Fe\u0301lix"
    assert validate_name(f"  {decomposed}\t", "given_names") == "Félix"


@pytest.mark.parametrize("value", [None, "", "   ", "\r\n"])
def test_an_empty_name_is_none(value: str | None) -> None:
    assert validate_name(value, "family_name") is None


@pytest.mark.parametrize("char", ["\x1b", "\x00", "\x07", "\x7f", "\x85", "\x9b", "\n", "\t"])
def test_a_name_with_a_control_character_is_refused(char: str) -> None:
    assert refusal(validate_name, f"Du{char}pont", "family_name") == (
        "family_name",
        "Le champ « Nom de famille » contient un caractère de contrôle : ressaisissez-le.",
    )


@pytest.mark.parametrize(
    "char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2069"]
)
def test_a_name_with_a_bidi_override_is_refused(char: str) -> None:
    assert refusal(validate_name, f"Dupont{char}tnemyap", "given_names") == (
        "given_names",
        "Le champ « Prénoms » contient un caractère invisible qui inverse le sens du texte : "
        "ressaisissez-le.",
    )


def test_a_bidi_override_in_english(english: None) -> None:
    assert refusal(validate_name, "a\u202eb", "family_name")[1] == (
        "Family name contains an invisible character that reverses the text direction: retype it."
    )


def test_a_too_long_name_gives_the_limit() -> None:
    assert refusal(validate_name, "A" * 101, "family_name") == (
        "family_name",
        "Le champ « Nom de famille » est trop long : 101 caractères, 100 au maximum.",
    )
    assert validate_name("A" * 100, "family_name") == "A" * 100


def test_the_limit_counts_characters_not_bytes() -> None:
    assert validate_name("王" * 40, "station_name", max_len=40) == "王" * 40


def test_a_too_long_name_in_english(english: None) -> None:
    assert refusal(validate_name, "PMA-" * 20, "station_name", max_len=40)[1] == (
        "Station name is too long: 80 characters, at most 40."
    )


def test_a_field_without_a_label_is_named_by_its_identifier() -> None:
    assert refusal(validate_name, "a\x00", "nickname")[1] == (
        "Le champ « nickname » contient un caractère de contrôle : ressaisissez-le."
    )


def test_a_name_that_is_not_text_is_refused() -> None:
    assert refusal(validate_name, 42, "family_name") == (
        "family_name",
        "Le champ « Nom de famille » doit être du texte.",
    )


printable_name = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
        blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    min_size=1,
    max_size=100,
).map(lambda text: unicodedata.normalize("NFC", text).strip())


@settings(max_examples=300, deadline=None)
@given(name=printable_name)
def test_any_valid_name_round_trips_unchanged(name: str) -> None:
    if name and len(name) <= 100:
        assert validate_name(name, "family_name") == name


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(min_size=2, max_size=50).filter(lambda t: t.strip()),
    control=st.sampled_from([chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]),
    where=st.integers(min_value=1),
)
def test_a_name_never_keeps_a_control_character(text: str, control: str, where: int) -> None:
    stripped = text.strip()
    if len(stripped) < 2:
        return
    at = 1 + where % (len(stripped) - 1)  # strictly inside the name
    with pytest.raises(ValidationError):
        validate_name(stripped[:at] + control + stripped[at:], "family_name")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_whatever_is_typed_a_kept_name_holds_no_control_character(text: str) -> None:
    try:
        name = validate_name(text, "given_names")
    except ValidationError:
        return
    assert name is None or not any(unicodedata.category(ch) == "Cc" for ch in name)


# --- the X rule -------------------------------------------------------------------------------

GUESS = (
    "Le champ « Nom de famille » contient une supposition ({value}) : laissez-le vide pour que la "
    "personne reste X, et faites enregistrer l'identité possible comme piste par la police."
)


@pytest.mark.parametrize(
    "value",
    [
        "X pouvant être Dupont",
        "X pouvant etre Dupont",
        "x pourrait être Dupont",
        "X possibly Smith",
        "X (Dupont ?)",
        "X (Dupont)",
        "X Dupont",
        "X-Dupont",
        "Dupont ?",
        "Dupont?",
        "Dupont (?)",
        "¿Dupont?",
        "دوبون؟",
        "peut-être Martin",
        "Martin peut être",
        "PROBABLEMENT Martin",
        "Martin probable",
        "maybe Smith",
        "Smith perhaps",
        "probably Smith",
        "X dit Dupont",
        "X alias Le Grand",
        "Martin alias Bob",
        "Smith a.k.a. Jones",
        "X = Dupont",
        "Dupont = Martin",
        "X ou Dupont",
        "X or Smith",
        "X1 Dupont",
        "inconnu Dupont",
        "Inconnue (Martin)",
        "présumé Dupont",
        "Dupont sans doute",
        "could be Smith",
        "Dupont (à confirmer)",
        "Dupont à vérifier",
        "Dupont non confirmé",
        "Dupont non confirmée",
        "éventuellement Dupont",
        "Dupont vraisemblable",
        "Dupont (incertain)",
        "Dupont sous réserve",
        "Dupont (selon témoin)",
        "Dupont/Durand",
        "Dupont / Durand",
        "prob. Dupont",
        "Poss. Dupont",
        "Dupont (to be confirmed)",
        "Dupont (unconfirmed)",
        "Dupont TBC",
        "Dupont (likely)",
    ],
)
def test_a_guessed_identity_is_refused_and_sent_to_the_police_as_a_lead(value: str) -> None:
    assert refusal(validate_identity, value, None) == ("family_name", GUESS.format(value=value))


def test_a_guess_in_the_given_names_names_that_field() -> None:
    assert refusal(validate_identity, "Dupont", "Jean ?") == (
        "given_names",
        "Le champ « Prénoms » contient une supposition (Jean ?) : laissez-le vide pour que la "
        "personne reste X, et faites enregistrer l'identité possible comme piste par la police.",
    )


def test_a_guess_in_english(english: None) -> None:
    assert refusal(validate_identity, "X possibly Smith", None)[1] == (
        "Family name holds a guess (X possibly Smith): leave it empty so the person stays X, and "
        "have the police record the possible identity as a lead."
    )


@pytest.mark.parametrize(
    "value",
    [
        "X",
        "x",
        "X.",
        "XX",
        "XXX",
        "X12",
        "X 3",
        "x-7",
        "?",
        "???",
        "-",
        "inconnu",
        "Inconnue",
        "inconnu(e)",
        "Unknown",
        "NN",
    ],
)
def test_a_placeholder_typed_as_a_name_is_refused(value: str) -> None:
    assert refusal(validate_identity, None, value) == (
        "given_names",
        f"« {value} » n'est pas un nom : laissez les champs du nom vides, l'écran affichera X.",
    )


def test_a_lone_x_in_english(english: None) -> None:
    assert refusal(validate_identity, "X", "Jean")[1] == (
        '"X" is not a name: leave the name fields empty and the screen will show X.'
    )


def test_an_unknown_person_has_empty_identity_fields() -> None:
    assert validate_identity(None, None) == (None, None)
    assert validate_identity("  ", "") == (None, None)
    assert validate_identity(None, "Jean") == (None, "Jean")


def test_the_identity_check_also_refuses_control_characters() -> None:
    assert refusal(validate_identity, "Du\x1b[2Jpont", None)[0] == "family_name"


@settings(max_examples=200, deadline=None)
@given(name=printable_name, mark=st.sampled_from("?¿؟？"))
def test_no_identity_with_a_question_mark_is_ever_accepted(name: str, mark: str) -> None:
    with pytest.raises(ValidationError):
        validate_identity(f"{name}{mark}"[:100], None)


# --- free text --------------------------------------------------------------------------------


def test_free_text_keeps_markup_as_typed() -> None:
    assert validate_text("[b]x[/b] <i>y</i> [red]", "notes") == "[b]x[/b] <i>y</i> [red]"


def test_multiline_text_keeps_newlines_and_tabs_and_unifies_line_ends() -> None:
    text = "  Blessé au bras\r\n\tgarrot posé\rconscient\u2028  "
    assert validate_text(text, "clinical_notes") == "Blessé au bras\n\tgarrot posé\nconscient"


def test_single_line_text_refuses_a_newline() -> None:
    assert refusal(validate_text, "Hall\nB", "found_place", multiline=False) == (
        "found_place",
        "Le champ « Lieu de découverte » contient un caractère de contrôle : ressaisissez-le.",
    )


@pytest.mark.parametrize("char", ["\x1b", "\x00", "\x7f", "\x9b", "\x0b", "\x0c"])
def test_multiline_text_refuses_other_control_characters(char: str) -> None:
    assert refusal(validate_text, f"a{char}b", "notes") == (
        "notes",
        "Le champ « Notes » contient un caractère de contrôle : ressaisissez-le.",
    )


def test_text_refuses_bidi_overrides() -> None:
    assert refusal(validate_text, "rapport\u202eexe.txt", "notes")[0] == "notes"


def test_text_size_limit_is_in_characters_and_given_in_the_message() -> None:
    assert validate_text("é" * 2000, "notes") == "é" * 2000
    assert refusal(validate_text, "é" * 2001, "notes") == (
        "notes",
        "Le champ « Notes » est trop long : 2001 caractères, 2000 au maximum.",
    )


def test_text_size_limit_in_english(english: None) -> None:
    assert refusal(validate_text, "a" * 81, "site", max_len=80, multiline=False)[1] == (
        "Site is too long: 81 characters, at most 80."
    )


@pytest.mark.parametrize("value", [None, "", " \n\t "])
def test_empty_text_is_none(value: str | None) -> None:
    assert validate_text(value, "notes") is None


def test_text_that_is_not_text_is_refused(english: None) -> None:
    assert refusal(validate_text, ["a"], "vehicle")[1] == "Vehicle must be text."


def test_every_description_key_has_a_text_limit_and_a_label() -> None:
    for key in DESCRIPTION_KEYS:
        assert TEXT_LIMITS[key] == 500
        assert field_label(key) != key


def test_field_labels_follow_the_language(english: None) -> None:
    assert field_label("given_names") == "Given names"
    i18n.set_language("fr")
    assert field_label("given_names") == "Prénoms"


# --- X description ----------------------------------------------------------------------------


def test_a_description_keeps_known_fields_in_order_and_drops_empty_ones() -> None:
    described = validate_description(
        {"belongings": " sac à dos noir ", "hair": "bruns, courts", "scars": "", "tattoos": None}
    )
    assert described == {"hair": "bruns, courts", "belongings": "sac à dos noir"}
    assert list(described) == ["hair", "belongings"]


def test_a_description_accepts_every_documented_key() -> None:
    fields = {key: f"{key} value" for key in DESCRIPTION_KEYS}
    assert validate_description(fields) == fields


def test_a_description_refuses_an_unknown_field() -> None:
    assert refusal(validate_description, {"eyes": "bleus"}) == (
        "x_description",
        "Champ de description « eyes » inconnu : les champs sont sex, apparent_age, build, hair, "
        "clothing, jewellery, tattoos, scars, belongings.",
    )


def test_a_description_field_is_limited_to_500_characters() -> None:
    assert refusal(validate_description, {"clothing": "a" * 501}) == (
        "clothing",
        "Le champ « Vêtements » est trop long : 501 caractères, 500 au maximum.",
    )


def test_a_description_that_is_not_a_mapping_is_refused() -> None:
    assert refusal(validate_description, "brun") == (
        "x_description",
        "La description physique n'a pas la forme attendue.",
    )


def test_a_description_value_that_is_not_text_is_refused() -> None:
    assert refusal(validate_description, {"apparent_age": 40}) == (
        "apparent_age",
        "Le champ « Âge apparent » doit être du texte.",
    )


# --- sex, birth date, age ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("F", "F"),
        ("f", "F"),
        ("femme", "F"),
        ("Femme", "F"),
        ("M", "M"),
        ("m", "M"),
        ("H", "M"),
        ("homme", "M"),
        ("male", "M"),
        ("U", "U"),
        ("u", "U"),
        ("X", "U"),
        ("inconnu", "U"),
        ("Indéterminé", "U"),
        (" f ", "F"),
        (None, None),
        ("", None),
    ],
)
def test_sex_values(value: str | None, expected: str | None) -> None:
    assert validate_sex(value) == expected


def test_an_unknown_sex_lists_the_letters() -> None:
    assert refusal(validate_sex, "Z") == (
        "sex",
        "Sexe « Z » non compris : tapez F (femme), M ou H (homme), ou U (inconnu).",
    )


def test_an_unknown_sex_in_english(english: None) -> None:
    assert refusal(validate_sex, "q")[1] == (
        'Sex "q" is not understood: type F (woman), M or H (man), or U (unknown).'
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-01-02", "1990-01-02"),
        ("1990-1-2", "1990-01-02"),
        ("02/01/1990", "1990-01-02"),
        ("2/1/1990", "1990-01-02"),
        ("02.01.1990", "1990-01-02"),
        ("29/02/2000", "2000-02-29"),
        (" 2026-07-14 ", "2026-07-14"),
        (date(1990, 1, 2), "1990-01-02"),
        (datetime(1990, 1, 2, 10, 0), "1990-01-02"),
        ("1905-07-15", "1905-07-15"),  # 120 years old, 121 tomorrow
        (None, None),
        ("", None),
    ],
)
def test_birth_dates(value: str | date | None, expected: str | None) -> None:
    assert validate_birth_date(value, today=TODAY) == expected


@pytest.mark.parametrize(
    "value", ["29/02/2001", "2001-02-29", "31/04/1990", "1990-13-01", "hier", "1990"]
)
def test_a_birth_date_that_does_not_exist_is_refused(value: str) -> None:
    assert refusal(validate_birth_date, value, today=TODAY) == (
        "birth_date",
        f"La date de naissance {value} n'est pas une date valide : écrivez-la JJ/MM/AAAA ou "
        "AAAA-MM-JJ.",
    )


def test_a_birth_date_in_the_future_is_refused() -> None:
    assert refusal(validate_birth_date, "15/07/2026", today=TODAY) == (
        "birth_date",
        "La date de naissance 15/07/2026 est dans le futur : vérifiez l'année.",
    )


def test_a_birth_date_over_120_years_ago_is_refused() -> None:
    assert refusal(validate_birth_date, "1905-07-14", today=TODAY) == (
        "birth_date",
        "La date de naissance 1905-07-14 donne un âge de plus de 120 ans : vérifiez l'année.",
    )


def test_a_bad_birth_date_in_english(english: None) -> None:
    assert refusal(validate_birth_date, "31/02/1990", today=TODAY)[1] == (
        "Birth date 31/02/1990 is not a valid date: write it as DD/MM/YYYY or YYYY-MM-DD."
    )


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (120, 120), ("45", 45), (" 7 ", 7), (None, None), ("", None)]
)
def test_ages(value: int | str | None, expected: int | None) -> None:
    assert validate_age(value) == expected


@pytest.mark.parametrize("value", [-1, 121, "121", "-1", "4.5", "quarante", True, 4.5, "٤٥"])
def test_an_age_outside_0_to_120_is_refused(value: object) -> None:
    assert refusal(validate_age, value) == (
        "apparent_age",
        "L'âge doit être un nombre entier d'années entre 0 et 120.",
    )


# --- event times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("22:30", "2026-07-14T20:30:00Z"),
        ("22h30", "2026-07-14T20:30:00Z"),
        ("9h", "2026-07-14T07:00:00Z"),
        ("22:30:15", "2026-07-14T20:30:15Z"),
        ("23:40", "2026-07-14T21:40:00Z"),  # exactly one hour ahead
        ("2026-07-14T22:30", "2026-07-14T20:30:00Z"),
        ("2026-07-14 22:30:00", "2026-07-14T20:30:00Z"),
        ("2026-07-14T20:30:00Z", "2026-07-14T20:30:00Z"),
        ("2026-07-14T21:30:00+01:00", "2026-07-14T20:30:00Z"),
        ("14/07/2026 22h30", "2026-07-14T20:30:00Z"),
        ("2026-06-15T10:00", "2026-06-15T08:00:00Z"),  # 29 days ago
        (datetime(2026, 7, 14, 20, 30, tzinfo=UTC), "2026-07-14T20:30:00Z"),
        (datetime(2026, 7, 14, 22, 30), "2026-07-14T20:30:00Z"),  # naive = local
        (None, None),
        ("  ", None),
    ],
)
def test_event_times_become_utc(value: str | datetime | None, expected: str | None) -> None:
    assert validate_event_time(value, now=NOW) == expected


def test_a_clock_time_typed_after_midnight_is_the_evening_before() -> None:
    after_midnight = datetime(2026, 7, 15, 0, 20, tzinfo=PARIS)
    assert validate_event_time("23:50", now=after_midnight) == "2026-07-14T21:50:00Z"
    assert validate_event_time("00:10", now=after_midnight) == "2026-07-14T22:10:00Z"


def test_a_clock_time_more_than_an_hour_ahead_in_the_day_is_refused() -> None:
    assert refusal(validate_event_time, "23:50", now=NOW) == (
        "event_time",
        "L'heure 23:50 est dans le futur : vérifiez l'heure et l'horloge du poste.",
    )


def test_a_future_time_is_refused_with_the_callers_field_name() -> None:
    assert refusal(validate_event_time, "2026-07-15T10:00", now=NOW, field="departure_time") == (
        "departure_time",
        "L'heure 2026-07-15T10:00 est dans le futur : vérifiez l'heure et l'horloge du poste.",
    )


def test_max_ahead_is_configurable() -> None:
    assert validate_event_time("2026-07-15T10:00", now=NOW, max_ahead=timedelta(days=1))
    with pytest.raises(ValidationError):
        validate_event_time("22:41", now=NOW, max_ahead=timedelta(0))


def test_a_time_more_than_30_days_ago_is_refused() -> None:
    assert refusal(validate_event_time, "2026-06-01T10:00", now=NOW) == (
        "event_time",
        "L'heure 2026-06-01T10:00 date de plus de 30 jours : vérifiez la date.",
    )


@pytest.mark.parametrize(
    "value", ["25:00", "12:60", "midi", "2026-07-14", "2026-02-30T10:00", "1:2"]
)
def test_an_unreadable_time_is_refused(value: str) -> None:
    assert refusal(validate_event_time, value, now=NOW) == (
        "event_time",
        f"L'heure {value} n'est pas comprise : écrivez HH:MM ou AAAA-MM-JJ HH:MM.",
    )


def test_time_messages_in_english(english: None) -> None:
    assert refusal(validate_event_time, "noon", now=NOW)[1] == (
        "Time noon is not understood: write HH:MM or YYYY-MM-DD HH:MM."
    )
    assert refusal(validate_event_time, "2026-07-15T10:00", now=NOW)[1] == (
        "Time 2026-07-15T10:00 is in the future: check the time and the station's clock."
    )
    assert refusal(validate_event_time, "2026-01-01T10:00", now=NOW)[1] == (
        "Time 2026-01-01T10:00 is more than 30 days ago: check the date."
    )


def test_event_time_without_now_uses_the_station_clock() -> None:
    stamp = validate_event_time(datetime.now(UTC) - timedelta(minutes=5))
    assert stamp is not None and stamp.endswith("Z") and len(stamp) == 20


# --- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06 12 34 56 78", "06 12 34 56 78"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("+33 (0)6.12.34.56.78", "+33 (0)6.12.34.56.78"),
        ("06-12-34-56-78", "06-12-34-56-78"),
        ("06\u00a012\u202f34", "06 12 34"),  # spaces pasted from a document
        ("٠٦١٢٣٤٥٦٧٨", "0612345678"),  # typed on an Arabic keyboard
        (" 112 ", "112"),
        (None, None),
        ("", None),
    ],
)
def test_phone_numbers(value: str | None, expected: str | None) -> None:
    assert validate_phone(value) == expected


@pytest.mark.parametrize("value", ["06 12 ab", "06/12/34", "06#12", "=1+2"])
def test_a_phone_number_with_other_characters_is_refused(value: str) -> None:
    assert refusal(validate_phone, value) == (
        "phone",
        f"Le numéro de téléphone {value} ne peut contenir que des chiffres, des espaces, +, (, ), "
        "- et des points.",
    )


def test_a_phone_number_over_32_characters_is_refused() -> None:
    assert validate_phone("0" * 32) == "0" * 32
    assert refusal(validate_phone, "0" * 33) == (
        "phone",
        "Un numéro de téléphone compte au plus 32 caractères.",
    )


def test_a_phone_number_needs_digits() -> None:
    assert refusal(validate_phone, "+ (1)") == (
        "phone",
        "Le numéro de téléphone + (1) a trop peu de chiffres.",
    )


def test_phone_messages_in_english(english: None) -> None:
    assert refusal(validate_phone, "call me")[1] == (
        "Phone number call me may only hold digits, spaces, +, (, ), - and dots."
    )


# --- triage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("UA", Category.UA),
        ("ua", Category.UA),
        ("1", Category.UA),
        ("UR", Category.UR),
        ("2", Category.UR),
        ("Impliqué", Category.IMPLIQUE),
        ("IMPLIQUE", Category.IMPLIQUE),
        ("impliqué", Category.IMPLIQUE),
        ("impl", Category.IMPLIQUE),
        ("3", Category.IMPLIQUE),
        ("DCD", Category.DCD),
        ("dcd", Category.DCD),
        ("4", Category.DCD),
        (" ur ", Category.UR),
    ],
)
def test_triage_categories(value: str, expected: Category) -> None:
    assert parse_category(value) == expected


@pytest.mark.parametrize("value", ["U1", "5", "T1", "im", "expectant", "UAUR"])
def test_an_unknown_category_lists_the_four(value: str) -> None:
    assert refusal(parse_category, value) == (
        "category",
        f"Catégorie de tri « {value} » inconnue : choisissez UA, UR, Impliqué ou DCD "
        "(touches 1 à 4).",
    )


def test_an_empty_category_asks_for_one() -> None:
    assert refusal(parse_category, "  ") == (
        "category",
        "Choisissez une catégorie de tri : UA, UR, Impliqué ou DCD (touches 1 à 4).",
    )


def test_an_unknown_category_in_english(english: None) -> None:
    assert refusal(parse_category, "red")[1] == (
        'Unknown triage category "red": choose UA, UR, Impliqué or DCD (keys 1 to 4).'
    )


@pytest.mark.parametrize(
    ("value", "category", "expected"),
    [
        ("EU", Category.UA, Refinement.EU),
        ("u1", Category.UA, Refinement.U1),
        ("U2", Category.UR, Refinement.U2),
        (" u3 ", Category.UR, Refinement.U3),
        (None, Category.UA, None),
        ("", Category.DCD, None),
    ],
)
def test_refinements_of_their_category(
    value: str | None, category: Category, expected: Refinement | None
) -> None:
    assert parse_refinement(value, category) == expected


def test_a_refinement_of_another_category_is_refused() -> None:
    assert refusal(parse_refinement, "U2", Category.UA) == (
        "refinement",
        "La sous-catégorie U2 ne s'applique pas à UA : utilisez EU ou U1.",
    )
    assert refusal(parse_refinement, "EU", Category.UR) == (
        "refinement",
        "La sous-catégorie EU ne s'applique pas à UR : utilisez U2 ou U3.",
    )


@pytest.mark.parametrize("category", [Category.IMPLIQUE, Category.DCD])
def test_impliques_and_dead_have_no_refinement(category: Category) -> None:
    label = "Impliqué" if category is Category.IMPLIQUE else "DCD"
    assert refusal(parse_refinement, "U3", category) == (
        "refinement",
        f"{label} n'a pas de sous-catégorie : laissez-la vide.",
    )


def test_an_unknown_refinement_is_refused() -> None:
    assert refusal(parse_refinement, "T1", Category.UA) == (
        "refinement",
        "Sous-catégorie « T1 » inconnue : utilisez EU ou U1 pour UA, U2 ou U3 pour UR.",
    )


def test_refinement_messages_in_english(english: None) -> None:
    assert refusal(parse_refinement, "U1", Category.UR)[1] == (
        "Refinement U1 does not belong to UR: use U2 or U3."
    )
    assert refusal(parse_refinement, "U1", Category.DCD)[1] == (
        "DCD has no refinement: leave it empty."
    )
