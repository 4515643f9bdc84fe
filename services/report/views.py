"""How a report is written out: a terminal table (tabulate), one tidy CSV, and a self-contained HTML page; and
the same three for a what-if comparison of two runs.

People read durations in the unit that fits each (civicflow.services.report.units: "35 min", "5.2 h", "3.1 d"); the CSV
keeps hours, named in its header (median_hours, …), so that its values stay comparable. Groups below the minimum
count are marked "*", left out of rankings and highlights, and a note under their table says how many and why.
"""

import csv
import html
import io
from datetime import datetime, timezone

from tabulate import tabulate

from civicflow.services.report import charts
from civicflow.services.report.compare import Comparison, Line, Side
from civicflow.services.report.figures import AGENCY, CHANNEL, SERVICE, Report, Row
from civicflow.services.report.units import DASH, duration

CSV_COLUMNS = ("breakdown", "key", "name", "received", "rejected", "requests", "closed", "met", "breached", "open",
               "on_time_rate", "median_hours", "p90_hours", "gap_hours", "gap_ratio", "closed_before_requested",
               "few_closed", "few_settled", "min_count")
COMPARISON_CSV_COLUMNS = ("breakdown", "key", "name", "a_requests", "a_settled", "a_met", "a_breached",
                          "a_on_time_rate", "b_requests", "b_settled", "b_met", "b_breached", "b_on_time_rate",
                          "on_time_rate_b_minus_a", "breached_b_minus_a", "few_settled", "min_count")
MARK = "*"
_GROUP_HEADERS = ["requests", "closed", "met", "breached", "open", "on time", "median", "p90", "gap", "× city"]
_TITLES = {CHANNEL: "by channel", AGENCY: "by agency", SERVICE: "by service (complaint type)"}
_UNITS = "Durations in minutes under 2 hours, hours under 2 days, days beyond."


def title(report: Report) -> str:
    """The report's title: jurisdiction and period."""
    return f"Service requests in {_who(report.names)}: {report.period_label}"


def section_title(breakdown: str) -> str:
    return _TITLES.get(breakdown, f"by {breakdown.replace('_', ' ')}")


def few_closed_note(rows: list[Row], min_count: int, *, ranked: bool = True) -> str | None:
    """The note under a section whose groups include some below the minimum count of closed requests."""
    few = sum(row.few_closed for row in rows)
    if not few:
        return None
    left_out = "listed after the ranking, left out of it and of the gap highlights" if ranked else \
        "left out of the gap highlights"
    return (f"{MARK} {_groups(few, len(rows))} {_below(min_count, 'closed request')}: too few for a time to "
            f"close that holds, so {left_out}.")


def few_settled_note(rows: list[Row], min_count: int) -> str | None:
    """The note of the on-time ranking when some groups have too few settled goals to be ranked."""
    few = sum(row.few_settled for row in rows)
    if not few:
        return None
    return (f"{_groups(few, len(rows))} {_below(min_count, 'settled resolve goal')}: too few for an on-time rate "
            f"that holds, so left out of this ranking (see the table).")


def misdated_note(report: Report) -> str | None:
    """How many closed requests the time figures leave out because their close precedes their request."""
    count = report.city.closed_before_requested
    if not count:
        return None
    which = "1 closed request is" if count == 1 else f"{count:,} closed requests are"
    its = "its" if count == 1 else "their"
    return (f"{which} left out of every time to close: {its} recorded close precedes {its} request "
            f"(bad source data).")


# ---- terminal ------------------------------------------------------------------------------------------------

def table(report: Report) -> str:
    """The report as text for a terminal: the city figures, then one table per breakdown."""
    city = report.city
    parts = [title(report), tabulate(_city_lines(report), tablefmt="simple")]
    for breakdown, rows in report.sections.items():
        if breakdown == CHANNEL:
            body = [[r.key, r.received, r.requests, r.rejected, _pct(r.on_time_rate), duration(r.median_hours),
                     duration(r.p90_hours)] for r in rows]
            headers = ["channel", "received", "accepted", "rejected", "on time", "median", "p90"]
            note = None
        else:
            body = [[_marked(r.key, r.few_closed), r.name if r.name != r.key else "", *_group_cells(r)]
                    for r in rows]
            headers = [breakdown.replace("_", " "), "name", *_GROUP_HEADERS]
            note = few_closed_note(rows, report.min_count)
        suffix = "" if breakdown == CHANNEL else ", worst gap to the city median first"
        text = f"{section_title(breakdown)}{suffix}\n" + tabulate(body, headers=headers, tablefmt="simple",
                                                                   disable_numparse=True)
        parts.append(text + (f"\n{note}" if note else ""))
    footer = (f"gap: median time to close minus the city median ({duration(city.median_hours)}); × city: their "
              f"ratio. On time: resolve goals met, of those settled. {_UNITS}")
    parts.append("\n".join(filter(None, [footer, misdated_note(report)])))
    return "\n\n".join(parts)


def _city_lines(report: Report) -> list[list]:
    city = report.city
    lines = [["requests received", f"{city.received:,}"], ["rejected at intake", f"{city.rejected:,}"],
             ["accepted", f"{city.requests:,}"], ["closed", f"{city.closed:,}"],
             ["resolve goal met / breached / open", f"{city.met:,} / {city.breached:,} / {city.open:,}"],
             ["on-time rate", _pct(city.on_time_rate)], ["median time to close", duration(city.median_hours)],
             ["p90 time to close", duration(city.p90_hours)]]
    if city.closed_before_requested:
        lines.append(["closed before requested (left out of times)", f"{city.closed_before_requested:,}"])
    return lines


def _group_cells(row: Row) -> list[str]:
    return [f"{row.requests:,}", f"{row.closed:,}", f"{row.met:,}", f"{row.breached:,}", f"{row.open:,}",
            _pct(row.on_time_rate), duration(row.median_hours), duration(row.p90_hours),
            duration(row.gap_hours, signed=True), _ratio(row.gap_ratio)]


# ---- CSV -----------------------------------------------------------------------------------------------------

def csv_text(report: Report) -> str:
    """One tidy CSV: a row per (breakdown, key), the city first. Rates are fractions (0–1), times in hours (the
    base unit, as the column names say); an empty cell is a figure that does not apply (no settled goal, no
    closed request, not a channel). few_closed / few_settled: true when the group has fewer closed requests /
    settled resolve goals than min_count, and is left out of the rankings by them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows():
        writer.writerow([row.breakdown, row.key, row.name, _blank(row.received), _blank(row.rejected),
                         row.requests, row.closed, row.met, row.breached, row.open,
                         _blank(row.on_time_rate, 4), _blank(row.median_hours, 4), _blank(row.p90_hours, 4),
                         _blank(row.gap_hours, 4), _blank(row.gap_ratio, 3), row.closed_before_requested,
                         _bool(row.few_closed), _bool(row.few_settled), report.min_count])
    return out.getvalue()


def _blank(value, digits: int | None = None) -> str:
    if value is None:
        return ""
    return str(round(value, digits)) if digits is not None else str(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


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
.empty{color:#666;font-style:italic} .note{color:#555;font-size:.85rem;margin:4px 0 12px}
table{border-collapse:collapse;background:#fff;font-size:.85rem;width:100%;margin-bottom:8px}
th,td{border-bottom:1px solid #e8e9ec;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#eef0f3;position:sticky;top:0} td.k,th.k,th.n{text-align:left} td.n{text-align:left;white-space:normal}
td.bad{color:#b03020;font-weight:600} td.good{color:#1f7a6d} tr.few td{color:#888}
details{margin-bottom:8px} summary{cursor:pointer;font-weight:600;margin:6px 0}
footer{color:#777;font-size:.8rem;margin-top:32px}
"""


def html_page(report: Report, *, generated_at: datetime | None = None) -> str:
    """A self-contained page: summary cards, inline SVG charts, then the tables (no external resource)."""
    city = report.city
    e = html.escape
    page_title = title(report)
    cards = [(f"{city.received:,}", "requests received"), (f"{city.rejected:,}", "rejected at intake"),
             (f"{city.closed:,}", f"closed, of {city.requests:,} accepted"),
             (_pct(city.on_time_rate), f"on time ({city.met:,} met, {city.breached:,} breached)"),
             (duration(city.median_hours), "median time to close"),
             (duration(city.p90_hours), "90th percentile time to close")]
    parts = [_head(page_title),
             f"<p class=\"sub\">Requests requested in the period, times in {e(str(report.names.time_zone))}. "
             f"Rejected submissions count only in the received and rejected figures.</p>",
             "<div class=\"cards\">" + "".join(f"<div class=\"card\"><b>{e(value)}</b><span>{e(label)}</span></div>"
                                              for value, label in cards) + "</div>"]
    parts += _notes([misdated_note(report)])
    parts.append("<h2>Charts</h2>")
    parts += _charts(report)
    parts.append("<h2>Tables</h2>")
    parts.append(_html_table(["figure", "value"], [[e(k), e(v)] for k, v in _city_lines(report)],
                             classes=["k", ""]))
    for breakdown, rows in report.sections.items():
        note = few_closed_note(rows, report.min_count, ranked=breakdown != CHANNEL)
        parts.append(f"<details open><summary>{e(section_title(breakdown).capitalize())} "
                     f"({len(rows):,})</summary>{_section_table(breakdown, rows)}{''.join(_notes([note]))}"
                     f"</details>")
    parts.append(_foot(f"On time: requests whose resolve goal was met, of those whose goal was settled (met or "
                       f"breached); open: not settled and still open. Time to close: closed − requested, median "
                       f"and 90th percentile (linear interpolation). Gap: a group's median minus the city median "
                       f"({duration(city.median_hours)}), and their ratio (× city). {_UNITS} Minimum count "
                       f"{report.min_count:,}: groups with fewer closed requests (settled goals) are marked "
                       f"{MARK} and left out of the time (on-time) rankings and highlights.", generated_at))
    return "\n".join(parts)


def _head(page_title: str) -> str:
    e = html.escape
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(page_title)}</title><style>{_STYLE}</style></head><body><main>\n<h1>{e(page_title)}</h1>")


def _foot(text: str, generated_at: datetime | None) -> str:
    generated_at = generated_at or datetime.now(timezone.utc)
    stamp = generated_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"<footer>{html.escape(text)} Generated {html.escape(stamp)} by civicflow.</footer></main></body></html>"


def _notes(notes: list[str | None]) -> list[str]:
    return [f"<p class=\"note\">{html.escape(note)}</p>" for note in notes if note]


def _charts(report: Report) -> list[str]:
    city, sections, layers, min_count = report.city, report.sections, report.layers, report.min_count
    agencies = sections.get(AGENCY, [])
    # (name, svg, caption, note on the groups below the minimum count, whether the data had something to rank)
    made = [
        ("On-time rate by agency", charts.on_time_by_agency(agencies, city_rate=city.on_time_rate),
         "Share of settled resolve goals met; the label gives the rate and the number settled.",
         few_settled_note(agencies, min_count), any(r.on_time_rate is not None for r in agencies)),
    ]
    if layers:
        first = sections[layers[0]]
        made.append((f"Time to close by {layers[0]}",
                     charts.time_to_close(first, city_median=city.median_hours,
                                          title=f"Time to close by {layers[0].replace('_', ' ')}",
                                          salt=f"close-{layers[0]}"),
                     "Median and 90th percentile; the dashed line is the city-wide median.",
                     few_closed_note(first, min_count), False))
    made.append(("Time to close by channel",
                 charts.time_to_close(sections.get(CHANNEL, []), city_median=city.median_hours,
                                      title="Time to close by channel", salt="close-channel"),
                 "Median and 90th percentile; the dashed line is the city-wide median.",
                 few_closed_note(sections.get(CHANNEL, []), min_count, ranked=False), False))
    if layers:
        lowest = layers[-1]
        made.append((f"Worst {lowest} by gap",
                     charts.district_gaps(sections[lowest], layer=lowest, city_median=city.median_hours),
                     "Median time to close minus the city median; the ratio to the city median in brackets.",
                     few_closed_note(sections[lowest], min_count),
                     any(r.gap_hours is not None for r in sections[lowest])))
    out = []
    for name, svg, caption, note, rankable in made:
        note_text = f" {html.escape(note)}" if note and (svg is not None or rankable) else ""
        if svg is None:
            why = "no group reaches the minimum count, so none is ranked" if rankable else \
                "no data in the period (no settled goal or closed request)"
            out.append(f"<figure><figcaption>{html.escape(name)}: <span class=\"empty\">{why}</span>{note_text}"
                       f"</figcaption></figure>")
        else:
            out.append(f"<figure>{svg}<figcaption>{html.escape(caption)}{note_text}</figcaption></figure>")
    return out


def _section_table(breakdown: str, rows: list[Row]) -> str:
    e = html.escape

    def gap_colour(row: Row) -> str:
        if row.few_closed or row.gap_hours is None or row.gap_hours == 0:
            return ""
        return "bad" if row.gap_hours > 0 else "good"

    if breakdown == CHANNEL:
        headers = ["channel", "received", "accepted", "rejected", "on time", "median", "p90", "gap"]
        body = [[e(_marked(r.key, r.few_closed)), f"{r.received:,}", f"{r.requests:,}", f"{r.rejected:,}",
                 _pct(r.on_time_rate), duration(r.median_hours), duration(r.p90_hours),
                 duration(r.gap_hours, signed=True)] for r in rows]
        return _html_table(headers, body, classes=["k"], colours=[{7: gap_colour(r)} for r in rows],
                           few=[r.few_closed for r in rows])
    headers = [breakdown.replace("_", " "), "name", *_GROUP_HEADERS]
    body = [[e(_marked(r.key, r.few_closed)), e(r.name), *(e(c) for c in _group_cells(r))] for r in rows]
    return _html_table(headers, body, classes=["k", "n"], colours=[{10: gap_colour(r)} for r in rows],
                       few=[r.few_closed for r in rows])


def _html_table(headers: list[str], body: list[list[str]], *, classes: list[str],
                colours: list[dict[int, str]] | None = None, few: list[bool] | None = None) -> str:
    """A table; colours gives, per body row, the highlight ("bad", "good") of some of its cells; few marks the
    rows of groups below the minimum count (greyed)."""
    def cls(i: int, colour: str = "") -> str:
        names = [classes[i]] if i < len(classes) and classes[i] else []
        names += [colour] if colour else []
        return f' class="{" ".join(names)}"' if names else ""

    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(headers))
    lines = []
    for n, cells in enumerate(body):
        row_colours = colours[n] if colours is not None else {}
        row_class = ' class="few"' if few is not None and few[n] else ""
        lines.append(f"<tr{row_class}>" + "".join(f"<td{cls(i, row_colours.get(i, ''))}>{c}</td>"
                                                  for i, c in enumerate(cells)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


# ---- what-if comparison --------------------------------------------------------------------------------------

def comparison_title(comparison: Comparison) -> str:
    return f"What-if comparison of service requests in {_who(comparison.names)}: A against B"


def comparison_table(comparison: Comparison) -> str:
    """The comparison as text for a terminal: which run is A and B, the city, then agencies and districts."""
    parts = [comparison_title(comparison), tabulate(_runs(comparison), tablefmt="plain")]
    parts.append("city\n" + tabulate([_comparison_cells(comparison.city, marked=False)],
                                      headers=["", "", *_COMPARISON_HEADERS], tablefmt="simple",
                                      disable_numparse=True))
    for breakdown, lines in comparison.sections.items():
        body = [_comparison_cells(line) for line in lines]
        text = (f"{section_title(breakdown)}, largest drop of the on-time rate first\n"
                + tabulate(body, headers=[breakdown.replace("_", " "), "name", *_COMPARISON_HEADERS],
                           tablefmt="simple", disable_numparse=True))
        note = few_settled_lines_note(lines, comparison.min_count)
        parts.append(text + (f"\n{note}" if note else ""))
    parts.append(_COMPARISON_FOOTER)
    return "\n\n".join(parts)


_COMPARISON_HEADERS = ["A settled", "A on time", "A breached", "B settled", "B on time", "B breached",
                       "on time B − A", "breached B − A"]
_COMPARISON_FOOTER = ("On time: resolve goals met, of those settled (met or breached), per run; B − A: the "
                      "difference in percentage points (pp) and in breaches. A group missing from a run counts "
                      "as none there.")


def few_settled_lines_note(lines: list[Line], min_count: int) -> str | None:
    """The note under a comparison section whose groups include some below the minimum count."""
    few = sum(line.few_settled for line in lines)
    if not few:
        return None
    return (f"{MARK} {_groups(few, len(lines))} {_below(min_count, 'settled resolve goal', ' in A or in B')}: too "
            f"few for an on-time rate that holds, so listed after the ranking, left out of it and of the "
            f"highlights.")


def _runs(comparison: Comparison) -> list[list[str]]:
    return [["A", comparison.a.label, comparison.a.period_label],
            ["B", comparison.b.label, comparison.b.period_label]]


def _comparison_cells(line: Line, *, marked: bool = True) -> list[str]:
    def side(s: Side) -> list[str]:
        return [f"{s.settled:,}", _pct(s.on_time_rate), f"{s.breached:,}"]

    name = line.name if line.name != line.key else ""
    return [_marked(line.key, line.few_settled and marked), name, *side(line.a), *side(line.b),
            _points(line.on_time_change), f"{line.breached_change:+,}" if line.breached_change else "0"]


def comparison_csv(comparison: Comparison) -> str:
    """One tidy CSV of the comparison: a row per (breakdown, key), the city first; rates are fractions (0–1),
    on_time_rate_b_minus_a too (0.05 is 5 points); few_settled: true when the group has fewer settled resolve
    goals than min_count in A or in B."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COMPARISON_CSV_COLUMNS)
    for line in comparison.lines():
        writer.writerow([line.breakdown, line.key, line.name,
                         *(value for s in (line.a, line.b)
                           for value in (s.requests, s.settled, s.met, s.breached, _blank(s.on_time_rate, 4))),
                         _blank(line.on_time_change, 4), line.breached_change, _bool(line.few_settled),
                         comparison.min_count])
    return out.getvalue()


def comparison_html(comparison: Comparison, *, generated_at: datetime | None = None) -> str:
    """A self-contained page of the comparison: the runs, then the city's, the agencies' and the districts'
    tables; a drop of the on-time rate or more breaches in B is red, the opposite teal, except for groups
    below the minimum count."""
    e = html.escape
    parts = [_head(comparison_title(comparison)),
             "<p class=\"sub\">" + "<br>".join(f"<b>{e(run)}</b>: {e(label)} ({e(period)})"
                                               for run, label, period in _runs(comparison)) + "</p>"]

    def table_of(lines: list[Line], first: str, *, marked: bool = True) -> str:
        body = [[e(c) for c in _comparison_cells(line, marked=marked)] for line in lines]
        colours = [{} if line.few_settled and marked else {8: _change_colour(line.on_time_change),
                                                            9: _change_colour(-line.breached_change)}
                   for line in lines]
        return _html_table([first, "name", *_COMPARISON_HEADERS], body, classes=["k", "n"], colours=colours,
                           few=[line.few_settled and marked for line in lines])

    parts.append("<h2>City</h2>" + table_of([comparison.city], "", marked=False))
    for breakdown, lines in comparison.sections.items():
        note = few_settled_lines_note(lines, comparison.min_count)
        parts.append(f"<h2>{e(section_title(breakdown).capitalize())}, largest drop of the on-time rate first "
                     f"({len(lines):,})</h2>{table_of(lines, breakdown.replace('_', ' '))}"
                     f"{''.join(_notes([note]))}")
    parts.append(_foot(f"{_COMPARISON_FOOTER} Minimum count {comparison.min_count:,}.", generated_at))
    return "\n".join(parts)


def _change_colour(change: float | None) -> str:
    """A change for the better (more on time, fewer breaches) is "good", for the worse "bad"."""
    if not change:
        return ""
    return "good" if change > 0 else "bad"


# ---- numbers -------------------------------------------------------------------------------------------------

def _who(names) -> str:
    return names.jurisdiction_name if names.jurisdiction_name == names.jurisdiction_id else \
        f"{names.jurisdiction_name} ({names.jurisdiction_id})"


def _groups(few: int, of: int) -> str:
    return f"{few:,} of {of:,} groups {'has' if few == 1 else 'have'}" if of != 1 else "the one group has"


def _below(min_count: int, noun: str, where: str = "") -> str:
    """"1 to 19 closed requests, under the minimum count of 20" (a group with none has no figure to rank)."""
    some = f"1 {noun}" if min_count == 2 else f"1 to {min_count - 1:,} {noun}s"
    return f"{some}{where}, under the minimum count of {min_count:,}"


def _marked(key: str, few: bool) -> str:
    return f"{key} {MARK}" if few else key


def _pct(rate: float | None) -> str:
    return DASH if rate is None else f"{100 * rate:.1f}%"


def _points(change: float | None) -> str:
    return DASH if change is None else f"{100 * change:+.1f} pp" if round(100 * change, 1) else "0.0 pp"


def _ratio(ratio: float | None) -> str:
    return DASH if ratio is None else f"{ratio:.2f}"
