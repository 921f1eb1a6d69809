"""Field triage: the four categories, their refinements and the international mapping."""

from __future__ import annotations

from enum import StrEnum

from fieldkit.i18n import N_


class Category(StrEnum):
    UA = "UA"
    UR = "UR"
    IMPLIQUE = "IMPLIQUE"
    DCD = "DCD"


class Refinement(StrEnum):
    EU = "EU"
    U1 = "U1"
    U2 = "U2"
    U3 = "U3"


# Which refinements refine which category.
REFINEMENTS: dict[Category, tuple[Refinement, ...]] = {
    Category.UA: (Refinement.EU, Refinement.U1),
    Category.UR: (Refinement.U2, Refinement.U3),
    Category.IMPLIQUE: (),
    Category.DCD: (),
}

# The key pressed on the counting bar, the label shown (always with its letters).
KEYS: dict[str, Category] = {
    "1": Category.UA,
    "2": Category.UR,
    "3": Category.IMPLIQUE,
    "4": Category.DCD,
}
LABELS: dict[Category, str] = {
    Category.UA: N_("UA"),
    Category.UR: N_("UR"),
    Category.IMPLIQUE: N_("Impliqué"),
    Category.DCD: N_("DCD"),
}

# International triage colours for exports. No French value maps to "expectant".
INTERNATIONAL: dict[str, str] = {
    "EU": "T1 red",
    "U1": "T1 red",
    "UA": "T1 red",
    "U2": "T2 yellow",
    "UR": "T2 yellow",
    "U3": "T3 green",
    "IMPLIQUE": "T3 green",
    "DCD": "black",
}


def international(category: str, refinement: str | None = None) -> str:
    """The international colour; a category no station writes is returned as it is, in text."""
    if refinement and refinement in INTERNATIONAL:
        return INTERNATIONAL[refinement]
    return INTERNATIONAL.get(category) or str(category)
