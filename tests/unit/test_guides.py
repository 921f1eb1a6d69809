"""The role guides: every key they list exists in the app, and every key a home screen shows is
in its role's guide (docs/guides/<role>.md, section "Raccourcis")."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Input, OptionList

from fieldkit.domain.triage import KEYS
from fieldkit.screens.app import ROLE_SCREENS, FieldkitApp

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"
COMMON = ["fieldkit.screens.forms", "fieldkit.screens.person", "fieldkit.screens.person_list"]
ROLE_MODULES = {
    "pma": ["fieldkit.screens.pma", *COMMON],
    "pump": ["fieldkit.screens.pump", *COMMON],
    "police": ["fieldkit.screens.police", *COMMON],
    "caf": ["fieldkit.screens.caf"],
    "ciav": ["fieldkit.screens.ciav", "fieldkit.screens.overview", *COMMON],
}
# Keys handled by widgets every screen uses: Enter submits a field or opens the chosen line,
# Tab moves between fields and lists (Textual's focus keys).
WIDGET_KEYS = {"tab", "shift+tab"}
for widget in (Input, OptionList):
    for binding in widget.BINDINGS:
        if isinstance(binding, Binding):
            WIDGET_KEYS.update(binding.key.split(","))
NAMES = {"entrée": "enter", "enter": "enter", "échap": "escape", "esc": "escape", "/": "slash"}
NAMES |= {"tab": "tab", "↓": "down", "↑": "up", "suppr": "delete", "del": "delete"}


def _key(token: str) -> str:
    token = token.strip()
    lowered = token.lower()
    if lowered in NAMES:
        return NAMES[lowered]
    if lowered.startswith("ctrl+"):
        return "ctrl+" + lowered[5:]
    return lowered


def guide_keys(role: str) -> set[str]:
    text = (GUIDES / f"{role}.md").read_text(encoding="utf-8")
    section = text.split("## Raccourcis", 1)[1].split("\n#", 1)[0]
    keys: set[str] = set()
    for line in section.splitlines():
        if line.startswith("|") and "`" in line:
            first_cell = line.split("|")[1]
            keys |= {_key(token) for token in re.findall(r"`([^`]+)`", first_cell)}
    return keys


def _bindings(module_name: str) -> list[Binding]:
    module = importlib.import_module(module_name)
    found = []
    for _name, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module_name:
            continue
        for binding in getattr(cls, "BINDINGS", []):
            if isinstance(binding, Binding):
                found.append(binding)
    return found


def app_keys(role: str) -> set[str]:
    keys = set(WIDGET_KEYS)
    for binding in FieldkitApp.BINDINGS:
        if isinstance(binding, Binding):
            keys.update(binding.key.split(","))
    for module_name in ROLE_MODULES[role]:
        for binding in _bindings(module_name):
            keys.update(binding.key.split(","))
    if role == "pma":
        keys.update(KEYS)  # the category keys, read by the counting bar
    return keys


@pytest.mark.parametrize("role", sorted(ROLE_MODULES))
def test_every_key_in_the_guide_exists_in_the_app(role: str) -> None:
    documented = guide_keys(role)
    assert documented, f"no shortcut table in docs/guides/{role}.md"
    missing = documented - app_keys(role)
    assert not missing, f"docs/guides/{role}.md names keys the app does not have: {missing}"


@pytest.mark.parametrize("role", sorted(ROLE_MODULES))
def test_every_key_the_home_screen_shows_is_in_the_guide(role: str) -> None:
    home = importlib.import_module(ROLE_SCREENS[role]).HomeScreen
    shown = {
        key
        for cls in home.__mro__
        for binding in getattr(cls, "BINDINGS", [])
        if isinstance(binding, Binding) and binding.show
        for key in binding.key.split(",")
    }
    missing = shown - guide_keys(role)
    assert not missing, f"keys shown on the {role} screen but not in its guide: {missing}"


def test_the_guide_parser_reads_keys_as_the_app_names_them() -> None:
    assert _key("Ctrl+S") == "ctrl+s" and _key("Échap") == "escape" and _key("/") == "slash"
    assert {"1", "2", "3", "4"} <= guide_keys("pma")
