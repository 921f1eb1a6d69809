"""Every interface string has its French translation, and placeholders survive translation."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import i18n_missing  # noqa: E402

from fieldkit.i18n import _, set_language  # noqa: E402


def test_every_interface_string_has_a_french_translation():
    missing = i18n_missing.missing()
    assert not missing, "\n".join(f"{where}: {m}" for m, where in missing.items())


def test_translations_keep_their_placeholders():
    fr = i18n_missing.french_messages()
    for msgid, msgstr in fr.items():
        assert sorted(re.findall(r"{\w+}", msgid)) == sorted(re.findall(r"{\w+}", msgstr)), msgid


def test_language_switch():
    set_language("fr")
    assert _("Passphrase") == "Phrase secrète"
    set_language("en")
    assert _("Passphrase") == "Passphrase"
    set_language("fr")
