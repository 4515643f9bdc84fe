"""How the report prints durations: each in the unit that fits it, never "0.0 hours".

Minutes under 2 hours ("35 min"), hours under 2 days ("5.2 h"), days beyond ("3.1 d"); the unit is chosen by the
size of the value, sign aside. Machine-readable outputs (the CSV) keep hours, the base unit, so that their
values stay comparable; only what people read is converted.
"""

DASH = "–"
MINUTES_BELOW_HOURS = 2.0    # under 2 hours: minutes
HOURS_BELOW_HOURS = 48.0     # under 2 days: hours; days beyond

# (short name for a value, name for an axis, hours per unit)
MINUTES = ("min", "minutes", 1 / 60)
HOURS = ("h", "hours", 1.0)
DAYS = ("d", "days", 24.0)


def unit_for(hours: float) -> tuple[str, str, float]:
    """The unit that fits a duration of `hours` (its size: the sign does not count)."""
    size = abs(hours)
    if size < MINUTES_BELOW_HOURS:
        return MINUTES
    if size < HOURS_BELOW_HOURS:
        return HOURS
    return DAYS


def duration(hours: float | None, *, signed: bool = False) -> str:
    """A duration given in hours, as people read it: "35 min", "5.2 h", "3.1 d"; with signed, "+35 min" or
    "-5.2 h". A dash for no value. Under half a minute reads "<1 min" (or "0 min" when exactly zero)."""
    if hours is None:
        return DASH
    short, _, scale = unit_for(hours)
    value = hours / scale
    sign = ("+" if value > 0 else "-" if value < 0 else "") if signed else ("-" if value < 0 else "")
    if short == "min":
        minutes = round(abs(value))
        if minutes == 0:
            return "0 min" if value == 0 else f"{sign}<1 min"
        return f"{sign}{minutes:,} min"
    return f"{sign}{abs(value):,.1f} {short}"
