"""Translations through gettext: English message ids, French by default, read from .po files.

The .po catalogues (one file per area, all merged) are parsed at first use (no compiled .mo files to keep in sync), and the result
is a standard ``gettext.NullTranslations`` so the rest of the code just calls ``_()``.
"""

from __future__ import annotations

import ast
import gettext
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_LANGUAGE = "fr"
SUPPORTED_LANGUAGES = ("fr", "en")
_LOCALE_DIR = Path(__file__).parent / "locale"

_current = DEFAULT_LANGUAGE
_catalogues: dict[str, gettext.NullTranslations] = {}
_local = threading.local()  # a language chosen for one piece of text, on one thread only


class PoTranslations(gettext.NullTranslations):
    """A gettext catalogue read straight from a .po file."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self._messages = messages

    def gettext(self, message: str) -> str:
        return self._messages.get(message) or message


def parse_po(text: str) -> dict[str, str]:
    """Return msgid -> msgstr for the non-empty, non-fuzzy entries of a .po file."""
    messages: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None
    fuzzy = False

    def flush() -> None:
        if msgid is not None and msgstr is not None and not fuzzy:
            key, value = "".join(msgid), "".join(msgstr)
            if key and value:
                messages[key] = value

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            flush()
            msgid = msgstr = current = None
            fuzzy = True
        elif line.startswith("msgid "):
            if msgstr is not None:
                flush()
                fuzzy = False
            msgid, msgstr = [ast.literal_eval(line[6:])], None
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [ast.literal_eval(line[7:])]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(ast.literal_eval(line))
    flush()
    return messages


def _catalogue(language: str) -> gettext.NullTranslations:
    if language not in _catalogues:
        messages: dict[str, str] = {}
        for po in sorted((_LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
            messages.update(parse_po(po.read_text(encoding="utf-8")))
        _catalogues[language] = PoTranslations(messages)
    return _catalogues[language]


def set_language(language: str | None) -> str:
    """Choose the interface language (``fr`` or ``en``); unknown values fall back to French."""
    global _current
    lang = (language or "").lower()[:2]
    _current = lang if lang in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE
    return _current


def language_from_environment() -> str:
    """The language asked for by FIELDKIT_LANG, else the default (French)."""
    return set_language(os.environ.get("FIELDKIT_LANG") or DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current


@contextmanager
def in_language(language: str) -> Iterator[str]:
    """Translate into ``language`` (``fr`` or ``en``) inside the block, on this thread only.

    For a text written in another language than the interface's (a family's printout); the
    interface language and the other threads (the sync agent) are left as they are."""
    lang = (language or "").lower()[:2]
    lang = lang if lang in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE
    previous = getattr(_local, "language", None)
    _local.language = lang
    try:
        yield lang
    finally:
        _local.language = previous


def _(message: str) -> str:
    """Translate a message id into the current language."""
    return _catalogue(getattr(_local, "language", None) or _current).gettext(message)


def N_(message: str) -> str:
    """Mark a message for translation without translating it now (module-level constants)."""
    return message
