"""How a replay's summary is printed: a few tables."""

from tabulate import tabulate

_ON_TIME = ["requests", "met", "breached", "open", "on time %", "median h to close"]


def summary(figures: dict, *, events: int, seconds: float, skipped: int) -> str:
    """The summary as text."""
    parts = [
        f"replayed {events:,} events in {seconds:.1f} s ({events / max(seconds, 1e-9):,.0f} events/s)",
        tabulate([["rows that could not be read", skipped], ["requests", figures["requests"]],
                  ["accepted (routed, triaged or duplicate)", figures["accepted"]],
                  ["rejected at intake", figures["rejected"]],
                  ["median hours to close", figures["median_hours_to_close"]]]
                 + [[f"breaches of {goal}", count] for goal, count in sorted(figures["breaches"].items())],
                 tablefmt="simple"),
        "routed per agency, and the resolve goal per agency",
        tabulate([[name, *row] for name, *row in figures["on_time_per_agency"]], headers=["agency", *_ON_TIME],
                 tablefmt="simple"),
        "the resolve goal per service",
        tabulate([[name, *row] for name, *row in figures["on_time_per_service"]], headers=["service", *_ON_TIME],
                 tablefmt="simple"),
    ]
    if figures["rejections"]:
        parts += ["rejected submissions by reason", tabulate(figures["rejections"], headers=["reason", "count"])]
    if figures["update_rejections"]:
        parts += ["rejected updates by reason", tabulate(figures["update_rejections"], headers=["reason", "count"])]
    return "\n\n".join(parts)
