"""List the interface strings (``_("...")`` / ``N_("...")``) that have no French translation.

Usage: python tools/i18n_missing.py [--po]   (--po prints stubs ready to paste into a .po file)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fieldkit.i18n import parse_po  # noqa: E402


def source_messages(package: Path = ROOT / "fieldkit") -> dict[str, str]:
    """msgid -> first place it is used."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def french_messages(package: Path = ROOT / "fieldkit") -> dict[str, str]:
    merged: dict[str, str] = {}
    for po in sorted((package / "locale" / "fr" / "LC_MESSAGES").glob("*.po")):
        merged.update(parse_po(po.read_text(encoding="utf-8")))
    return merged


def missing() -> dict[str, str]:
    fr = french_messages()
    return {m: where for m, where in source_messages().items() if m not in fr}


if __name__ == "__main__":
    for message, where in missing().items():
        if "--po" in sys.argv:
            print(
                f'# {where}\nmsgid {message!r}\nmsgstr ""\n'.replace("msgid '", 'msgid "').replace(
                    "'\nmsgstr", '"\nmsgstr'
                )
            )
        else:
            print(f"{where}: {message}")
