"""How a report is written out: a terminal table (tabulate), one tidy CSV, and a self-contained HTML page."""

import csv
import html
import io
from datetime import datetime, timezone

from tabulate import tabulate

from services.report import charts
from services.report.figures import AGENCY, CHANNEL, SERVICE, Report, Row

CSV_COLUMNS = ("breakdown", "key", "name", "received", "rejected", "requests", "closed", "met", "breached", "open",
               "on_time_rate", "median_hours", "p90_hours", "gap_hours", "gap_ratio")
DASH = "–"
_GROUP_HEADERS = ["requests", "closed", "met", "breached", "open", "on time", "median h", "p90 h", "gap h",
                  "× city"]
_TITLES = {CHANNEL: "by channel", AGENCY: "by agency", SERVICE: "by service (complaint type)"}


def title(report: Report) -> str:
    """The report's title: jurisdiction and period."""
    names = report.names
    who = names.jurisdiction_name if names.jurisdiction_name == names.jurisdiction_id else \
        f"{names.jurisdiction_name} ({names.jurisdiction_id})"
    return f"Service requests in {who}: {report.period_label}"


def section_title(breakdown: str) -> str:
    return _TITLES.get(breakdown, f"by {breakdown.replace('_', ' ')}")


# ---- terminal ------------------------------------------------------------------------------------------------

def table(report: Report) -> str:
    """The report as text for a terminal: the city figures, then one table per breakdown."""
    city = report.city
    parts = [title(report), tabulate(_city_lines(report), tablefmt="simple")]
    for breakdown, rows in report.sections.items():
        if breakdown == CHANNEL:
            body = [[r.key, r.received, r.requests, r.rejected, _pct(r.on_time_rate), _hours(r.median_hours),
                     _hours(r.p90_hours)] for r in rows]
            headers = ["channel", "received", "accepted", "rejected", "on time", "median h", "p90 h"]
        else:
            body = [[r.key, r.name if r.name != r.key else "", *_group_cells(r)] for r in rows]
            headers = [breakdown.replace("_", " "), "name", *_GROUP_HEADERS]
        note = "" if breakdown == CHANNEL else ", worst gap to the city median first"
        parts.append(f"{section_title(breakdown)}{note}\n" + tabulate(body, headers=headers, tablefmt="simple",
                                                                      disable_numparse=True))
    parts.append(f"gap h: median hours to close minus the city median ({_hours(city.median_hours)} h); "
                 f"× city: their ratio. On time: resolve goals met, of those settled.")
    return "\n\n".join(parts)


def _city_lines(report: Report) -> list[list]:
    city = report.city
    return [["requests received", f"{city.received:,}"], ["rejected at intake", f"{city.rejected:,}"],
            ["accepted", f"{city.requests:,}"], ["closed", f"{city.closed:,}"],
            ["resolve goal met / breached / open", f"{city.met:,} / {city.breached:,} / {city.open:,}"],
            ["on-time rate", _pct(city.on_time_rate)], ["median hours to close", _hours(city.median_hours)],
            ["p90 hours to close", _hours(city.p90_hours)]]


def _group_cells(row: Row) -> list[str]:
    return [f"{row.requests:,}", f"{row.closed:,}", f"{row.met:,}", f"{row.breached:,}", f"{row.open:,}",
            _pct(row.on_time_rate), _hours(row.median_hours), _hours(row.p90_hours), _signed(row.gap_hours),
            _ratio(row.gap_ratio)]


# ---- CSV -----------------------------------------------------------------------------------------------------

def csv_text(report: Report) -> str:
    """One tidy CSV: a row per (breakdown, key), the city first. Rates are fractions (0–1), times in hours;
    an empty cell is a figure that does not apply (no settled goal, no closed request, not a channel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows():
        writer.writerow([row.breakdown, row.key, row.name, _blank(row.received), _blank(row.rejected),
                         row.requests, row.closed, row.met, row.breached, row.open,
                         _blank(row.on_time_rate, 4), _blank(row.median_hours, 2), _blank(row.p90_hours, 2),
                         _blank(row.gap_hours, 2), _blank(row.gap_ratio, 3)])
    return out.getvalue()


def _blank(value, digits: int | None = None) -> str:
    if value is None:
        return ""
    return str(round(value, digits)) if digits is not None else str(value)


# ---- HTML ----------------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.5rem;margin:0 0 4px} h2{font-size:1.15rem;margin:32px 0 8px} .sub{color:#666;margin:0 0 20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-bottom:20px}
.card{background:#fff;border:1px solid #e2e4e8;border-radius:6px;padding:10px 12px}
.card b{display:block;font-size:1.35rem} .card span{color:#666;font-size:.85rem}
figure{background:#fff;border:1px solid #e2e4e8;border-radius:6px;margin:0 0 16px;padding:8px}
figure svg{max-width:100%;height:auto;display:block} figcaption{color:#666;font-size:.85rem;padding:4px 8px}
.empty{color:#666;font-style:italic}
table{border-collapse:collapse;background:#fff;font-size:.85rem;width:100%;margin-bottom:8px}
th,td{border-bottom:1px solid #e8e9ec;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#eef0f3;position:sticky;top:0} td.k,th.k,th.n{text-align:left} td.n{text-align:left;white-space:normal}
td.bad{color:#b03020;font-weight:600} td.good{color:#1f7a6d}
details{margin-bottom:8px} summary{cursor:pointer;font-weight:600;margin:6px 0}
footer{color:#777;font-size:.8rem;margin-top:32px}
"""


def html_page(report: Report, *, generated_at: datetime | None = None) -> str:
    """A self-contained page: summary cards, inline SVG charts, then the tables (no external resource)."""
    generated_at = generated_at or datetime.now(timezone.utc)
    city = report.city
    e = html.escape
    page_title = title(report)
    unit = charts.unit_for(city.median_hours)
    cards = [(f"{city.received:,}", "requests received"), (f"{city.rejected:,}", "rejected at intake"),
             (f"{city.closed:,}", f"closed, of {city.requests:,} accepted"),
             (_pct(city.on_time_rate), f"on time ({city.met:,} met, {city.breached:,} breached)"),
             (_duration(city.median_hours, unit), "median time to close"),
             (_duration(city.p90_hours, unit), "90th percentile time to close")]
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>{e(page_title)}</title><style>{_STYLE}</style></head><body><main>",
             f"<h1>{e(page_title)}</h1>",
             f"<p class=\"sub\">Requests requested in the period, times in {e(str(report.names.time_zone))}. "
             f"Rejected submissions count only in the received and rejected figures.</p>",
             "<div class=\"cards\">" + "".join(f"<div class=\"card\"><b>{e(value)}</b><span>{e(label)}</span></div>"
                                              for value, label in cards) + "</div>",
             "<h2>Charts</h2>"]
    parts += _charts(report)
    parts.append("<h2>Tables</h2>")
    parts.append(_html_table(["figure", "value"], [[e(k), e(v)] for k, v in _city_lines(report)],
                             classes=["k", ""]))
    for breakdown, rows in report.sections.items():
        parts.append(f"<details open><summary>{e(section_title(breakdown).capitalize())} "
                     f"({len(rows):,})</summary>{_section_table(breakdown, rows)}</details>")
    parts.append(f"<footer>On time: requests whose resolve goal was met, of those whose goal was settled (met or "
                 f"breached); open: not settled and still open. Time to close: closed − requested, median and "
                 f"90th percentile (linear interpolation). Gap: a group's median minus the city median "
                 f"({e(_hours(city.median_hours))} h), and their ratio (× city). Generated "
                 f"{e(generated_at.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))} by civicflow."
                 f"</footer></main></body></html>")
    return "\n".join(parts)


def _charts(report: Report) -> list[str]:
    city, sections, layers = report.city, report.sections, report.layers
    unit = charts.unit_for(city.median_hours)
    made = [
        ("On-time rate by agency", charts.on_time_by_agency(sections.get(AGENCY, []), city_rate=city.on_time_rate),
         "Share of settled resolve goals met; the label gives the rate and the number settled."),
    ]
    if layers:
        made.append((f"Time to close by {layers[0]}",
                     charts.time_to_close(sections[layers[0]], city_median=city.median_hours,
                                          title=f"Time to close by {layers[0].replace('_', ' ')}",
                                          salt=f"close-{layers[0]}", unit=unit),
                     "Median and 90th percentile; the dashed line is the city-wide median."))
    made.append(("Time to close by channel",
                 charts.time_to_close(sections.get(CHANNEL, []), city_median=city.median_hours,
                                      title="Time to close by channel", salt="close-channel", unit=unit),
                 "Median and 90th percentile; the dashed line is the city-wide median."))
    if layers:
        lowest = layers[-1]
        made.append((f"Worst {lowest} by gap",
                     charts.district_gaps(sections[lowest], layer=lowest, city_median=city.median_hours,
                                          unit=unit),
                     "Median time to close minus the city median; the ratio to the city median in brackets."))
    out = []
    for name, svg, caption in made:
        if svg is None:
            out.append(f"<figure><figcaption>{html.escape(name)}: <span class=\"empty\">no data in the period "
                       f"(no settled goal or closed request)</span></figcaption></figure>")
        else:
            out.append(f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>")
    return out


def _section_table(breakdown: str, rows: list[Row]) -> str:
    e = html.escape
    if breakdown == CHANNEL:
        headers = ["channel", "received", "accepted", "rejected", "on time", "median h", "p90 h", "gap h"]
        body = [[e(r.key), f"{r.received:,}", f"{r.requests:,}", f"{r.rejected:,}", _pct(r.on_time_rate),
                 _hours(r.median_hours), _hours(r.p90_hours), _signed(r.gap_hours)] for r in rows]
        return _html_table(headers, body, classes=["k"], gap_column=7, rows=rows)
    headers = [breakdown.replace("_", " "), "name", *_GROUP_HEADERS]
    body = [[e(r.key), e(r.name), *(e(c) for c in _group_cells(r))] for r in rows]
    return _html_table(headers, body, classes=["k", "n"], gap_column=10, rows=rows)


def _html_table(headers: list[str], body: list[list[str]], *, classes: list[str], gap_column: int | None = None,
                rows: list[Row] | None = None) -> str:
    def cls(i: int, row: Row | None = None) -> str:
        names = [classes[i]] if i < len(classes) and classes[i] else []
        if row is not None and i == gap_column and row.gap_hours is not None and row.gap_hours != 0:
            names.append("bad" if row.gap_hours > 0 else "good")
        return f' class="{" ".join(names)}"' if names else ""

    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(headers))
    lines = []
    for n, cells in enumerate(body):
        row = rows[n] if rows is not None else None
        lines.append("<tr>" + "".join(f"<td{cls(i, row)}>{c}</td>" for i, c in enumerate(cells)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


# ---- numbers -------------------------------------------------------------------------------------------------

def _pct(rate: float | None) -> str:
    return DASH if rate is None else f"{100 * rate:.1f}%"


def _hours(hours: float | None) -> str:
    return DASH if hours is None else f"{hours:,.1f}"


def _signed(hours: float | None) -> str:
    return DASH if hours is None else f"{hours:+,.1f}"


def _ratio(ratio: float | None) -> str:
    return DASH if ratio is None else f"{ratio:.2f}"


def _duration(hours: float | None, unit: tuple[str, float]) -> str:
    name, scale = unit
    return DASH if hours is None else f"{hours / scale:,.1f} {name}"
