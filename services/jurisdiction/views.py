"""How the `civicflow jurisdiction` commands print: the draft's review (DRAFT.md), what a run changed, a check."""

from datetime import datetime

from tabulate import tabulate

from civicflow.services.replay import check as replay_check


def duration(seconds: float) -> str:
    """8 h, 36.5 h, 14 d, 2.5 d: hours below two days, days from there."""
    hours = seconds / 3600
    if hours < 48:
        return f"{round(hours, 1):g} h"
    return f"{round(hours / 24, 1):g} d"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _names(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def review(draft) -> str:
    """DRAFT.md: what the export showed, what the draft decided and why, what this run changed."""
    from civicflow.services.jurisdiction import draft as draft_module

    seen, report = draft.survey, draft.check
    rows_read = sum(s.rows for s in seen.services.values())
    texts = sum(len(s.texts) for s in seen.services.values())
    parts = [
        f"# Draft of {draft.directory.name}: what {draft.export.name} shows",
        f"Written by `civicflow jurisdiction draft` on {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} from "
        f"`{draft.export}` through the mapping `{draft.mapping_path}`, in {draft.seconds:.1f} s. Each run writes "
        "this file anew; the YAML files beside it keep what a person edits.",
        "## Rows and services\n\n" + tabulate([
            ["rows in the export", f"{report.rows:,}"],
            ["rows read", f"{rows_read:,}"],
            ["rows that cannot be read (no id or creation time)", f"{len(report.unreadable):,}"],
            ["rows without a service text (left out)", f"{seen.blank_service:,}"],
            ["rows without an agency", f"{seen.no_agency:,}"],
            ["service texts", f"{texts:,}"],
            ["services (texts differing only in case, or with the same code, are one)", f"{len(seen.services):,}"],
            ["agencies", f"{len(seen.agency_rows):,}"],
            ["services with due dates", f"{sum(1 for s in seen.services.values() if s.offsets):,}"],
        ], headers=["", ""], tablefmt="github"),
    ]
    if draft.name_note:
        parts.append(f"Note: {draft.name_note}.")
    if report.missing_columns:
        parts.append("Columns the mapping names that the export does not have (read as blank): "
                     + ", ".join(f"`{c}`" for c in report.missing_columns))
    if report.unreadable:
        parts.append("First rows that cannot be read:\n\n" + "\n".join(
            f"- line {line}: {reason}" for line, reason in report.unreadable[:10]))
    parts.append(_changes_section(draft))
    parts.append(_agencies_section(draft))
    parts.append(_due_section(draft))
    anomalies = [[replay_check.ANOMALIES[k], f"{report.anomalies.get(k, 0):,}"] for k in replay_check.ANOMALIES]
    parts.append("## Anomalies (as `civicflow replay --check` counts them)\n\n"
                 + tabulate(anomalies, headers=["rows with", "count"], tablefmt="github")
                 + ("\n\nNo boundary layers: no point can be outside." if not draft.jurisdiction.geography.layers
                    else ""))
    if draft.layers:
        lines = []
        for plan in draft.layers:
            how = (f"chosen: the property with a distinct value on every feature (candidates: "
                   f"{', '.join(plan.unique)}); give LAYER=FILE:PROPERTY to choose another"
                   if plan.chosen else "as given")
            lines.append(f"- {plan.spec.layer}: `{plan.spec.path}` copied to `{plan.file}`, districts named by "
                         f"`{plan.id_property}` ({how})")
        parts.append("## Boundaries\n\n" + "\n".join(lines))
    if draft.aliases:
        lines = [f"- `{code}` ({seen.services[code].name}) is also written {', '.join(repr(t) for t in texts)}"
                 for code, texts in sorted(draft.aliases.items())]
        parts.append("## Texts sharing a service\n\nThese texts are one service. A replay matches a text to a "
                     "service by its name, ignoring case; a text that differs otherwise reaches the service by its "
                     "code but without its attributes: add it to the mapping's `services` table "
                     "(`text: code`) to read them.\n\n" + "\n".join(lines))
    if draft.capped:
        lines = [f"- `{code}` {attribute}: {n} distinct values seen" for code, attribute, n in draft.capped]
        parts.append(f"## Attributes with more than {draft_module.MAX_VALUES} values\n\nOnly the "
                     f"{draft_module.MAX_VALUES} most frequent are listed; a replay leaves other values out of the "
                     "request's attributes (they stay in its description when the mapping puts the column "
                     "there).\n\n" + "\n".join(lines))
    parts.append(_rules_section())
    return "\n\n".join(parts) + "\n"


def _changes_section(draft) -> str:
    changes = draft.changes
    title = "## What this run wrote" if draft.first else "## What this run added"
    if draft.first:
        attributes = [a for s in draft.jurisdiction.services.values() for a in s.attributes]
        values = (f"- attributes: {len(attributes):,}, with {sum(len(a.values) for a in attributes):,} values, of "
                  f"the services above")
    else:
        values = (f"- attribute values: {sum(n for *_, n in changes.values):,} to {len(changes.values)} attributes"
                  + (": " + _names([f"{s}.{a} +{n}" for s, a, n in changes.values], 8) if changes.values else ""))
    lines = [
        f"- services ({len(changes.services)}): {_names(changes.services) or 'none'}",
        f"- agencies ({len(changes.agencies)}): {_names(changes.agencies) or 'none'}",
        values,
        f"- SLA policies ({len(changes.policies)}): {_names(changes.policies) or 'none'}",
        f"- boundary layers: {', '.join(changes.layers) or 'none'}",
    ]
    if changes.calendars:
        lines.append(f"- business calendar: {', '.join(changes.calendars)}")
    lines += [f"- kept: {k}" for k in changes.kept]
    lines += [f"- note: {n}" for n in changes.notes]
    if not draft.first:
        lines.append("- nothing that was there changed: existing services, agencies, policies, routing and "
                     "priority rules are as they were")
    return title + "\n\n" + "\n".join(lines)


def _agencies_section(draft) -> str:
    seen = draft.survey
    rows = []
    for code, service in sorted(seen.services.items()):
        if len(service.agencies) < 2:
            continue
        total = sum(service.agencies.values())
        shares = ", ".join(f"{a} {_share(n, total)}" for a, n in service.agencies.most_common())
        rows.append([code, f"{service.rows:,}", shares, draft.catalog_agency.get(code, "")])
    if not rows:
        return "## Services handled by several agencies\n\nNone: every service's rows went to one agency."
    return ("## Services handled by several agencies\n\nThe catalog names one agency per service (the one with most "
            "rows, for a new service); a replay still gives each row to the agency that handled it.\n\n"
            + tabulate(rows, headers=["service", "rows", "agencies (share of rows)", "catalog"], tablefmt="github"))


def _due_section(draft) -> str:
    from civicflow.services.jurisdiction import draft as draft_module

    seen = draft.survey
    rows = []
    for code, service in sorted(seen.services.items()):
        if not service.offsets:
            continue
        low, q1, median, q3, high = draft_module.spread(service.offsets)
        target = draft.targets.get(code)
        if target is not None:
            decided = target.iso + ("" if target.clock == "calendar" else f" ({target.clock})")
            why = target.why
        else:
            decided, why = "-", f"kept: policy {draft.covered[code]} covers it" if code in draft.covered else "-"
        rows.append([code, len(service.offsets), duration(low), duration(q1), duration(median), duration(q3),
                     duration(high), decided, why])
    if not rows:
        return ("## Due offsets\n\nThe export has no due dates (or the mapping names no due column): no SLA "
                "policy was drafted.")
    return ("## Due offsets (due - created) and the resolve targets\n\n"
            + tabulate(rows, headers=["service", "due dates", "min", "q1", "median", "q3", "max", "target", "why"],
                       tablefmt="github"))


def _rules_section() -> str:
    from civicflow.services.jurisdiction import draft as d

    return ("## How the draft decides\n\n"
            f"- `location_required` is true when at least {d.LOCATION_REQUIRED_SHARE:.0%} of a service's rows have "
            "a location (a point, an address or an address id).\n"
            f"- Attributes are the mapping's attribute columns, as single-value lists of the {d.MAX_VALUES} most "
            "frequent values per service, not required.\n"
            "- A resolve target is the median due offset of a service (rows whose due date is after creation; of "
            "an even number of offsets, the lower middle one, so the target is one the city set): "
            f"whole local days `PnD` when at least {d.WHOLE_DAYS_SHARE:.0%} of the offsets are whole days; else, "
            f"when the service has at least {d.BUSINESS_MIN_DUES} due dates and every one falls within opening "
            f"hours (Monday to Friday {d.BUSINESS_WINDOW[0]:%H:%M}-{d.BUSINESS_WINDOW[1]:%H:%M}, or the "
            f"sla.yaml's own `{d.BUSINESS}` calendar), hours counted on that business calendar; else exact hours "
            "`PTnH`.\n"
            "- Routing has no rules: a request goes to its service's agency. Priority has levels and a default.\n"
            "- A later run adds services, agencies, attribute values, layers and policies for services no policy "
            "names (by code or group), inserted into the files' text; it changes nothing that is there.")


def changes(draft) -> str:
    """What a run did, in a few lines (printed after the review)."""
    c = draft.changes
    where = draft.directory
    if draft.first:
        layers = len(draft.jurisdiction.geography.layers)
        head = (f"drafted {where}: {len(c.services)} services, {len(c.agencies)} agencies, {layers} boundary "
                f"layers, {len(c.policies)} SLA policies in {draft.seconds:.1f} s")
    elif c.nothing:
        head = f"{where}: nothing new in {draft.export.name}; nothing changed"
    else:
        head = f"added to {where} in {draft.seconds:.1f} s:"
        lines = []
        if c.services:
            lines.append(f"  services ({len(c.services)}): {_names(c.services, 20)}")
        if c.agencies:
            lines.append(f"  agencies ({len(c.agencies)}): {', '.join(c.agencies)}")
        if c.values:
            lines.append(f"  attribute values: {sum(n for *_, n in c.values):,} to {len(c.values)} attributes of "
                         "existing services")
        if c.policies:
            lines.append(f"  SLA policies ({len(c.policies)}): {_names(c.policies, 20)}")
        if c.calendars:
            lines.append(f"  calendars: {', '.join(c.calendars)}")
        if c.layers:
            lines.append(f"  boundary layers: {', '.join(c.layers)}")
        head += "\n" + "\n".join(lines)
    notes = "".join(f"\nnote: {n}" for n in c.notes)
    return (f"{head}{notes}\nreview: {where / 'DRAFT.md'}\n"
            f"check: civicflow jurisdiction check {where}")


def check_summary(jurisdiction) -> str:
    """One line about a jurisdiction that loads."""
    sla = len(jurisdiction.sla.policies)
    layers = [layer.name for layer in jurisdiction.geography.layers]
    return (f"{jurisdiction.directory}: ok: jurisdiction {jurisdiction.id} ({jurisdiction.name}), "
            f"{len(jurisdiction.services)} services, {len(jurisdiction.agency_names)} agencies, "
            f"{len(layers)} boundary layers{' (' + ', '.join(layers) + ')' if layers else ''}, "
            f"{sla} SLA policies, {len(jurisdiction.routing_rules)} routing rules, "
            f"{len(jurisdiction.priority_rules)} priority rules")
