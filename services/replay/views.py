"""How a replay's summary is printed: a few tables."""

from tabulate import tabulate

_ON_TIME = ["requests", "met", "breached", "open", "on time %", "median h to close"]


def summary(figures: dict, *, events: int, seconds: float, skipped: int, agreement=None,
            pipeline_seconds: float | None = None, records_projected: int = 0) -> str:
    """The summary as text; with `pipeline_seconds`, the pipeline's and the read model's rates on their own."""
    speed = f"replayed {events:,} events in {seconds:.1f} s ({events / max(seconds, 1e-9):,.0f} events/s)"
    if pipeline_seconds is not None:
        speed += f"; pipeline {events / max(pipeline_seconds, 1e-9):,.0f} events/s"
        if records_projected:
            speed += (f", read model {records_projected / max(seconds - pipeline_seconds, 1e-9):,.0f} records/s "
                      f"({records_projected:,} records)")
    parts = [
        speed,
        tabulate([["rows that could not be read", skipped], ["requests", figures["requests"]],
                  ["accepted (routed, triaged or duplicate)", figures["accepted"]],
                  ["rejected at intake", figures["rejected"]],
                  ["left nowhere (never expected)", figures["missing"]],
                  ["median hours to close", figures["median_hours_to_close"]],
                  ["closes before submission left out of times", figures["left_out_of_times"]]]
                 + [[f"breaches of {goal}", count] for goal, count in sorted(figures["breaches"].items())],
                 tablefmt="simple"),
        "routed per agency, and the resolve goal per agency",
        tabulate([[name, *row] for name, *row in figures["on_time_per_agency"]], headers=["agency", *_ON_TIME],
                 tablefmt="simple"),
        "the resolve goal per service",
        tabulate([[name, *row] for name, *row in figures["on_time_per_service"]], headers=["service", *_ON_TIME],
                 tablefmt="simple"),
    ]
    if agreement is not None and agreement.rows:
        text = (f"agreement with the city's own on-time record: {agreement.agreeing:,} of {agreement.rows:,} rows "
                f"with a due date ({100 * agreement.share:.2f} %)")
        if agreement.disagreements:
            text += "\n" + tabulate([[city, ours, n] for (city, ours), n in agreement.disagreements.most_common()],
                                    headers=["city's record", "replay", "rows"])
        parts.append(text)
    if figures["rejections"]:
        parts += ["rejected submissions by reason", tabulate(figures["rejections"], headers=["reason", "count"])]
    if figures["warnings"]:
        parts += ["imported with warnings (what live intake would refuse, or the import changed)",
                  tabulate(figures["warnings"], headers=["warning", "requests"])]
    if figures["update_rejections"]:
        parts += ["rejected updates by reason", tabulate(figures["update_rejections"], headers=["reason", "count"])]
    return "\n\n".join(parts)


def check(report, *, top: int = 15) -> str:
    """`--check`'s findings as text: missing columns first, then what matches nothing, then anomalies."""
    from civicflow.services.replay import check as replay_check

    parts = [f"{report.path}: {report.rows:,} rows"]
    if report.missing_columns:
        parts.append("MISSING COLUMNS (named by the mapping, not in the export's header): "
                     + ", ".join(report.missing_columns))
    if report.required_missing:
        return "\n\n".join(parts + ["no row can be read without these columns"])
    if report.unreadable:
        lines = [f"  line {line}: {reason}" for line, reason in report.unreadable[:top]]
        parts.append(f"rows that cannot be read ({len(report.unreadable):,}):\n" + "\n".join(lines))
    parts.append(f"service texts: {len(report.services):,} ({len(report.unmatched_services):,} match no service "
                 "of the catalog: imported as unlisted services of the row's agency)")
    for title, counts in (("service texts matching nothing", report.unmatched_services),
                          ("channel texts matching nothing (imported as other)", report.unmatched_channels),
                          ("agencies the jurisdiction does not list", report.unknown_agencies)):
        if counts:
            rows = counts.most_common(top)
            more = f"\n  … and {len(counts) - top:,} more" if len(counts) > top else ""
            parts.append(title + "\n" + tabulate(rows, headers=["text", "rows"]) + more)
    anomalies = [[replay_check.ANOMALIES[k], report.anomalies.get(k, 0)] for k in replay_check.ANOMALIES]
    parts.append("anomalies (imported with a warning)\n" + tabulate(anomalies, headers=["rows with", "count"]))
    parts.append("ok: a replay can run" if report.ok else "NOT OK: fix the mapping first")
    return "\n\n".join(parts)
