"""The bilan hour by hour: snapshots kept in the store, a terminal chart, CSV and PDF.

DOMAIN.md: the bilan victimaire is updated at least hourly for the authorities. A *snapshot*
is the bilan (by category, refinement, site, destination) computed at one moment; the store
keeps one per hour (table ``bilan_snapshots``, migration 5; local, outside the change log), the
last one taken in that hour. :func:`ensure_hourly` takes this hour's snapshot when there is
none yet: call it from a timer (the app, the sync agent) or from cron with
``fieldkit bilan --snapshot``.

:func:`render_chart` is pure (snapshots in, text lines out) so a screen can show it as is.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from fieldkit.domain import validation
from fieldkit.domain.triage import LABELS, Category
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.services.files import replaceable_target
from fieldkit.store import queries
from fieldkit.store.queries import Bilan
from fieldkit.store.store import Store

GROUPS = ("by_category", "by_refinement", "by_site", "by_destination")
BLOCKS = " ▁▂▃▄▅▆▇█"
MISSING = "·"
MAX_HOURS = 24 * 60  # history shown or exported: at most 60 days of hours
CSV_GROUP_PREFIX = {"by_site": "site: ", "by_destination": "destination: "}


@dataclass(frozen=True)
class Snapshot:
    """The bilan as it stood in one hour (``hour``: UTC ``YYYY-MM-DDThh:00:00Z``)."""

    hour: str
    taken_at: str
    bilan: Bilan

    def as_dict(self) -> dict[str, Any]:
        return {"hour": self.hour, "taken_at": self.taken_at, **self.bilan.as_dict()}


def hour_of(moment: datetime) -> str:
    utc = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return validation.utc_stamp(utc)


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _bilan_from(body: str) -> Bilan:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}

    def counts(name: str) -> dict[str, int]:
        value = data.get(name)
        if not isinstance(value, dict):
            return {}
        return {str(k): int(v) for k, v in value.items() if isinstance(v, int)}

    return Bilan(
        total=int(data.get("total") or 0),
        by_category=counts("by_category"),
        by_refinement=counts("by_refinement"),
        by_site=counts("by_site"),
        by_destination=counts("by_destination"),
        evacuated=int(data.get("evacuated") or 0),
    )


def take_snapshot(store: Store, at: datetime | None = None) -> Snapshot:
    """Record the current bilan as the snapshot of the hour of ``at`` (default: now)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    current = queries.bilan(store.db)
    snapshot = Snapshot(hour_of(moment), validation.utc_stamp(moment), current)
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO bilan_snapshots (hour, taken_at, body) VALUES (?, ?, ?)",
            [
                snapshot.hour,
                snapshot.taken_at,
                json.dumps(current.as_dict(), ensure_ascii=False, sort_keys=True),
            ],
        )
    return snapshot


def ensure_hourly(store: Store, now: datetime | None = None) -> Snapshot | None:
    """Take this hour's snapshot if there is none yet; returns it, or None if one existed."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    row = store.db.execute(
        "SELECT 1 FROM bilan_snapshots WHERE hour = ?", [hour_of(moment)]
    ).fetchone()
    return None if row else take_snapshot(store, moment)


def history(
    store: Store, *, since: datetime | None = None, limit: int = MAX_HOURS
) -> list[Snapshot]:
    """The hourly snapshots, oldest first (the latest ``limit`` hours, from ``since`` if given)."""
    params: list[Any] = []
    where = ""
    if since is not None:
        where = "WHERE hour >= ?"
        params.append(hour_of(since))
    params.append(max(1, int(limit)))
    rows = store.db.execute(
        f"SELECT hour, taken_at, body FROM bilan_snapshots {where} ORDER BY hour DESC LIMIT ?",
        params,
    ).fetchall()
    return [Snapshot(hour, taken, _bilan_from(body)) for hour, taken, body in reversed(rows)]


# --- series, chart ---------------------------------------------------------------------------


def hours_between(first: str, last: str) -> list[str]:
    """Every hour from ``first`` to ``last`` (UTC stamps), at most MAX_HOURS of them."""
    start, end = _parse(first), _parse(last)
    count = min(int((end - start) / timedelta(hours=1)) + 1, MAX_HOURS)
    start = end - timedelta(hours=count - 1)
    return [validation.utc_stamp(start + timedelta(hours=i)) for i in range(count)]


def series(
    snapshots: Sequence[Snapshot], group: str = "by_category"
) -> tuple[list[str], dict[str, list[int | None]]]:
    """Hours (continuous, gaps included) and, per key of ``group``, its count each hour."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    if not snapshots:
        return [], {}
    hours = hours_between(snapshots[0].hour, snapshots[-1].hour)
    index = {hour: i for i, hour in enumerate(hours)}
    keys: list[str] = [c.value for c in Category] if group == "by_category" else []
    for snap in snapshots:
        for key in getattr(snap.bilan, group):
            if key not in keys:
                keys.append(key)
    if group != "by_category":
        keys.sort()
    values: dict[str, list[int | None]] = {key: [None] * len(hours) for key in keys}
    for snap in snapshots:
        at = index.get(snap.hour)
        if at is None:
            continue
        counts = getattr(snap.bilan, group)
        for key in keys:
            values[key][at] = int(counts.get(key, 0))
    return hours, values


def sparkline(values: Sequence[int | None], top: int | None = None) -> str:
    """One character per value: height relative to ``top``; blank for 0, ``·`` for no data."""
    known = [v for v in values if v is not None]
    peak = top if top is not None else max(known, default=0)
    out = []
    for value in values:
        if value is None:
            out.append(MISSING)
        elif value <= 0 or peak <= 0:
            out.append(BLOCKS[0])
        else:
            out.append(BLOCKS[max(1, min(8, math.ceil(value / peak * 8)))])
    return "".join(out)


def _label(group: str, key: str) -> str:
    if group == "by_category":
        try:
            return _(LABELS[Category(key)])
        except ValueError:
            return key
    return key


def _local_hour(stamp: str) -> str:
    return _parse(stamp).astimezone().strftime("%Hh")


def render_chart(
    snapshots: Sequence[Snapshot], *, group: str = "by_category", width: int = 80
) -> list[str]:
    """Text lines: one sparkline per key of ``group`` over the hours, last value and peak.

    Pure: no store, no terminal. The latest hours that fit in ``width`` are shown; local
    hour marks under the chart. Each row is scaled to its own peak (the trend of each
    category stays visible); ``·`` marks an hour without a snapshot.
    """
    hours, values = series(snapshots, group)
    if not hours:
        return [_("No hourly bilan recorded yet.")]
    labels = [_label(group, k) for k in values] + [_("Total")]
    label_width = min(14, max(len(label) for label in labels))
    numbers_width = 16
    span = max(1, min(len(hours), width - label_width - numbers_width - 2))
    shown = hours[-span:]
    totals: list[int | None] = [None] * len(hours)
    by_hour = {snap.hour: snap.bilan.total for snap in snapshots}
    for i, hour in enumerate(hours):
        totals[i] = by_hour.get(hour)
    lines = [
        _("Bilan by hour, {first} to {last} ({count} h)").format(
            first=_parse(shown[0]).astimezone().strftime("%d/%m %Hh"),
            last=_parse(shown[-1]).astimezone().strftime("%d/%m %Hh"),
            count=len(shown),
        )
    ]
    rows = [(_label(group, key), series_) for key, series_ in values.items()]
    rows.append((_("Total"), totals))
    for label, row in rows:
        tail = row[-span:]
        known = [v for v in row if v is not None]
        last = next((v for v in reversed(row) if v is not None), 0)
        peak = max(known, default=0)
        lines.append(
            f"{_clip(label, label_width):<{label_width}} {sparkline(tail)}"
            f" {last:>6} {_('max')} {peak:<6}".rstrip()
        )
    marks = [" "] * span
    step = next((s for s in (3, 6, 12, 24) if span / s <= 10), 24)
    for i, stamp in enumerate(shown):
        local = _parse(stamp).astimezone()
        if i and local.hour % step:
            continue
        mark = local.strftime("%Hh")
        free = all(c == " " for c in marks[max(0, i - 1) : i + len(mark) + 1])
        if i + len(mark) <= span and free:
            marks[i : i + len(mark)] = list(mark)
    lines.append(f"{'':<{label_width}} {''.join(marks)}".rstrip())
    return lines


def _clip(text: str, width: int) -> str:
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable if len(printable) <= width else printable[: width - 1] + "…"


# --- CSV -------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: formulas are neutralised (CSV injection)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_history_csv(snapshots: Sequence[Snapshot], out: IO[str]) -> int:
    """The history for a spreadsheet: UTF-8 BOM, ';', one row per snapshot; returns rows."""
    columns: list[tuple[str, str, str]] = []  # (header, group, key)
    for group in GROUPS:
        _hours, values = series(snapshots, group) if snapshots else ([], {})
        keys = list(values) or ([c.value for c in Category] if group == "by_category" else [])
        for key in keys:
            columns.append((CSV_GROUP_PREFIX.get(group, "") + key, group, key))
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["hour", "taken_at", "total", "evacuated", *(c[0] for c in columns)])
    for snap in snapshots:
        cells = [snap.hour, snap.taken_at, snap.bilan.total, snap.bilan.evacuated]
        cells += [getattr(snap.bilan, group).get(key, 0) for _h, group, key in columns]
        writer.writerow([_csv_cell(c) for c in cells])
    return len(snapshots)


# --- PDF -------------------------------------------------------------------------------------


def render_pdf(
    current: Bilan,
    snapshots: Sequence[Snapshot],
    *,
    station: str,
    incident: str,
    now: datetime | None = None,
) -> bytes:
    """The current bilan and the hourly history as PDF bytes (A4, fpdf2)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    from fieldkit.services.certificates import add_body_font

    moment = (now or datetime.now(UTC)).astimezone()
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    if add_body_font(pdf) is not None:
        family = "body"

        def text(value: Any) -> str:
            return "".join(ch if ch.isprintable() else "?" for ch in str(value))
    else:
        family = "Helvetica"

        def text(value: Any) -> str:
            printable = "".join(ch if ch.isprintable() else "?" for ch in str(value))
            return printable.encode("latin-1", "replace").decode("latin-1")

    pdf.set_title(text(_("Casualty count (bilan victimaire)")))
    pdf.set_creator("fieldkit")
    pdf.add_page()

    def line(value: str, *, size: float = 10, style: str = "", height: float = 5.5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, height, text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(
        headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]
    ) -> None:
        pdf.set_font(family, "B", 9)
        for header, w in zip(headers, widths, strict=True):
            pdf.cell(w, 6, text(header), border=1)
        pdf.ln(6)
        pdf.set_font(family, "", 9)
        for row in rows:
            if pdf.will_page_break(6):
                pdf.add_page()
            for value, w in zip(row, widths, strict=True):
                align = "R" if isinstance(value, int) else "L"
                pdf.cell(w, 6, text(value)[:60], border=1, align=align)
            pdf.ln(6)

    line(_("Casualty count (bilan victimaire)"), size=16, style="B", height=8)
    line(
        _("Incident {incident} - station {station} - {time}").format(
            incident=incident, station=station, time=moment.strftime("%d/%m/%Y %H:%M")
        ),
        size=9,
    )
    pdf.ln(3)
    line(
        _("Total: {total} - evacuated: {evacuated}").format(
            total=current.total, evacuated=current.evacuated
        ),
        size=12,
        style="B",
    )
    pdf.ln(2)
    sections = (
        (_("By category"), current.by_category, "by_category"),
        (_("By refinement"), current.by_refinement, "by_refinement"),
        (_("By site"), current.by_site, "by_site"),
        (_("By destination"), current.by_destination, "by_destination"),
    )
    for title, counts, group in sections:
        if not counts:
            continue
        line(title, style="B")
        table([title, _("Count")], [(_label(group, k), v) for k, v in counts.items()], (90, 30))
        pdf.ln(3)

    pdf.add_page()
    line(_("Hourly history"), size=14, style="B", height=7)
    if not snapshots:
        line(_("No hourly bilan recorded yet."))
    else:
        _draw_chart(pdf, snapshots, family, text)
        headers = [_("Hour"), _("Total"), *(_label("by_category", c.value) for c in Category)]
        headers.append(_("Evacuated"))
        rows = []
        for snap in snapshots:
            hour = _parse(snap.hour).astimezone().strftime("%d/%m %Hh")
            per_category = [snap.bilan.by_category.get(c.value, 0) for c in Category]
            rows.append([hour, snap.bilan.total, *per_category, snap.bilan.evacuated])
        table(headers, rows, (30, 22, 22, 22, 22, 22, 25))
    return bytes(pdf.output())


def _draw_chart(pdf: Any, snapshots: Sequence[Snapshot], family: str, text: Any) -> None:
    """Stacked bars by category for the last 48 hours; shades of grey and letters (no colour)."""
    hours, values = series(snapshots, "by_category")
    hours, values = hours[-48:], {k: v[-48:] for k, v in values.items()}
    totals = [sum(v[i] or 0 for v in values.values()) for i in range(len(hours))]
    peak = max(totals, default=0) or 1
    left, top, width, height = pdf.l_margin, pdf.get_y() + 4, pdf.epw, 60.0
    bar = width / max(len(hours), 1)
    shades = (60, 110, 160, 210)
    for i, _hour in enumerate(hours):
        y = top + height
        for (_key, row), shade in zip(values.items(), shades, strict=False):
            value = row[i] or 0
            if value <= 0:
                continue
            h = height * value / peak
            pdf.set_fill_color(shade)
            pdf.rect(left + i * bar + 0.3, y - h, max(bar - 0.6, 0.2), h, style="F")
            y -= h
    pdf.set_draw_color(0)
    pdf.line(left, top + height, left + width, top + height)
    pdf.set_font(family, "", 7)
    step = max(1, len(hours) // 12)
    for i in range(0, len(hours), step):
        pdf.text(left + i * bar, top + height + 4, _parse(hours[i]).astimezone().strftime("%Hh"))
    pdf.text(left, top - 1, text(_("max {count}").format(count=peak)))
    pdf.set_y(top + height + 7)
    x = left
    for key, shade in zip(values, shades, strict=False):
        pdf.set_fill_color(shade)
        pdf.rect(x, pdf.get_y(), 4, 4, style="F")
        pdf.text(x + 5, pdf.get_y() + 3.3, text(_label("by_category", key)))
        x += 30
    pdf.ln(9)


def write_pdf(store: Store, out: Path, *, now: datetime | None = None) -> Path:
    """Write the bilan PDF (current bilan + hourly history) to ``out``."""
    data = render_pdf(
        queries.bilan(store.db),
        history(store),
        station=store.meta.get("station_name") or store.station_id,
        incident=store.meta.get("incident", ""),
        now=now,
    )
    replaceable_target(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        temp = out.with_name(f".{out.name}.tmp")
        temp.write_bytes(data)
        temp.replace(out)
    except OSError as exc:
        raise FieldkitError(
            _("Cannot write {path}: {reason}.").format(path=out, reason=exc.strerror or exc)
        ) from None
    return out
