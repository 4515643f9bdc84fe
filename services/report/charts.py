"""The report's charts as inline SVG (matplotlib's SVG backend, text drawn as paths: no fonts to load).

Each function returns an <svg> element as a string (no XML prolog, DOCTYPE or metadata), or None when there is
nothing to draw. Only the object-oriented Figure API is used: no pyplot, no global figure state.

Rankings (the on-time rate by agency, the district gaps) leave out the groups below the report's minimum count
(Row.few_settled, Row.few_closed); the time-to-close bars show them, their label marked with "*". Each axis has
the unit that fits its largest value; each bar's label the unit that fits that bar (civicflow.services.report.units).
"""

import functools
import io
import re
import textwrap

import matplotlib
from matplotlib.figure import Figure

from civicflow.services.report import units
from civicflow.services.report.figures import NONE, Row

BLUE, LIGHT_BLUE, RED, TEAL, INK, GRID = "#2f6db3", "#a8c6ea", "#c0392b", "#2a9d8f", "#333333", "#dddddd"
LABEL_WIDTH = 44        # characters of a bar's label before it is cut
MAX_DISTRICTS = 15      # bars of the district-gap chart
_RC = {"svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 9, "axes.edgecolor": "#999999",
       "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 11, "axes.titleweight": "bold",
       "axes.titlelocation": "left"}


def _styled(chart):
    """Run a chart function under the report's matplotlib style (rcParams are read as artists are made)."""
    @functools.wraps(chart)
    def styled(*args, **kwargs):
        with matplotlib.rc_context(_RC):
            return chart(*args, **kwargs)
    return styled


@_styled
def on_time_by_agency(rows: list[Row], *, city_rate: float | None) -> str | None:
    """Horizontal bars: the share of settled resolve goals met, per agency, worst at the top, labelled with the
    rate and the number settled; a dashed line at the city-wide rate. Agencies with fewer settled goals than the
    minimum count are not ranked here."""
    rated = sorted((r for r in rows if r.on_time_rate is not None and not r.few_settled),
                   key=lambda r: (-r.on_time_rate, r.key))
    if not rated:
        return None
    figure, axes = _figure(len(rated))
    labels = [_label(f"{r.name} ({r.key})" if r.name != r.key and r.key != NONE else r.name) for r in rated]
    axes.barh(labels, [100 * r.on_time_rate for r in rated], color=BLUE, height=0.6)
    for y, row in enumerate(rated):
        axes.text(min(100 * row.on_time_rate, 100) + 1, y, f"{100 * row.on_time_rate:.0f}% of {row.settled:,}",
                  va="center", fontsize=8, color=INK)
    if city_rate is not None:
        axes.axvline(100 * city_rate, color=INK, linestyle="--", linewidth=1,
                     label=f"city-wide rate {100 * city_rate:.0f}%")
    _legend(figure)
    axes.set_xlim(0, 118)
    axes.set_xticks(range(0, 101, 20), [f"{t}%" for t in range(0, 101, 20)])
    axes.set_title("On-time rate by agency (resolve goal met, of those settled)")
    return _svg(figure, "on-time-agency")


@_styled
def time_to_close(rows: list[Row], *, city_median: float | None, title: str, salt: str) -> str | None:
    """Paired horizontal bars per group: median (solid) and 90th percentile (light) time to close, with the
    city-wide median as a dashed line. Rows keep their order, first at the top; a group below the minimum count
    has "*" after its name."""
    shown = [r for r in rows if r.median_hours is not None]
    if not shown:
        return None
    _, unit, scale = units.unit_for(max([r.p90_hours for r in shown] + [city_median or 0]))
    figure, axes = _figure(len(shown), per_bar=0.5)
    positions = list(range(len(shown)))[::-1]
    medians = [r.median_hours / scale for r in shown]
    p90s = [r.p90_hours / scale for r in shown]
    axes.barh([p + 0.19 for p in positions], medians, height=0.36, color=BLUE, label="median")
    axes.barh([p - 0.19 for p in positions], p90s, height=0.36, color=LIGHT_BLUE, label="90th percentile")
    for p, m, q, row in zip(positions, medians, p90s, shown, strict=True):
        axes.text(m, p + 0.19, f" {units.duration(row.median_hours)}", va="center", fontsize=8, color=INK)
        axes.text(q, p - 0.19, f" {units.duration(row.p90_hours)}", va="center", fontsize=8, color=INK)
    axes.set_yticks(positions, [_label(r.name) + (" *" if r.few_closed else "") for r in shown])
    if city_median is not None:
        axes.axvline(city_median / scale, color=INK, linestyle="--", linewidth=1,
                     label=f"city median {units.duration(city_median)}")
    axes.set_xlim(0, max(p90s + [(city_median or 0) / scale]) * 1.18 or 1)
    axes.set_xlabel(unit)
    _legend(figure)
    axes.set_title(title)
    return _svg(figure, salt)


@_styled
def district_gaps(rows: list[Row], *, layer: str, city_median: float | None) -> str | None:
    """Horizontal bars: the districts whose median time to close is furthest above the city median (worst at the
    top; red above the median, teal below), labelled with the gap and the ratio. Districts with fewer closed
    requests than the minimum count are not ranked here."""
    gapped = [r for r in rows if r.gap_hours is not None and r.key != NONE and not r.few_closed][:MAX_DISTRICTS]
    if not gapped or city_median is None:
        return None
    _, unit, scale = units.unit_for(max(abs(r.gap_hours) for r in gapped))
    figure, axes = _figure(len(gapped))
    gaps = [r.gap_hours / scale for r in gapped][::-1]
    labels = [_label(r.name) for r in gapped][::-1]
    axes.barh(labels, gaps, color=[RED if g > 0 else TEAL for g in gaps], height=0.6)
    for y, (gap, row) in enumerate(zip(gaps, gapped[::-1], strict=True)):
        ratio = f" (×{row.gap_ratio:.2f})" if row.gap_ratio is not None else ""
        axes.text(gap, y, f" {units.duration(row.gap_hours, signed=True)}{ratio} ", va="center",
                  ha="left" if gap >= 0 else "right", fontsize=8, color=INK)
    axes.axvline(0, color=INK, linewidth=0.8)
    low, high = min(gaps + [0]), max(gaps + [0])
    span = (high - low) or 1
    axes.set_xlim(low - 0.3 * span if low < 0 else 0, high + 0.3 * span)
    axes.set_xlabel(f"{unit} above the city median of {units.duration(city_median)}")
    axes.set_title(f"Median time to close against the city median, by {layer.replace('_', ' ')} (worst first)")
    return _svg(figure, f"gaps-{layer}")


def _figure(bars: int, *, per_bar: float = 0.32) -> tuple[Figure, object]:
    figure = Figure(figsize=(8.5, 1.6 + per_bar * max(bars, 2)), layout="constrained")
    axes = figure.add_subplot()
    axes.grid(axis="x", color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    axes.tick_params(axis="y", length=0)
    return figure, axes


def _legend(figure: Figure) -> None:
    """The legend under the plot, where it hides no bar."""
    if not any(axes.get_legend_handles_labels()[0] for axes in figure.axes):
        return
    figure.legend(loc="outside lower center", ncols=3, frameon=False, fontsize=8)


def _label(text: str) -> str:
    return textwrap.shorten(text, width=LABEL_WIDTH, placeholder="…")


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _svg(figure: Figure, salt: str) -> str:
    """The figure as an inline <svg> element. The salt keeps the generated clip-path ids of the page's charts
    apart."""
    out = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}):
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    text = _METADATA.sub("", _PROLOG.sub("", out.getvalue(), count=1), count=1)
    return text.replace("<svg ", '<svg role="img" class="chart" ', 1)
