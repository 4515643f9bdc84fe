"""What a replay produced, per request and in total, from the lifecycle and rejected topics.

Events are counted once by event id (a restarted worker may emit some again). A goal's outcome is that of its
latest cycle: met or breached when the platform said so, open otherwise.
"""

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RequestOutcome:
    """One request as the replay leaves it."""

    external_id: str | None
    request_id: str
    service_code: str | None = None
    agency: str | None = None
    status: str = "rejected"
    submitted_at: datetime | None = None
    closed_at: datetime | None = None
    goals: dict[str, dict] = field(default_factory=dict)  # name → cycle, deadline, outcome, at
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # import warnings kept on the request (codes)
    breach_events: Counter = field(default_factory=Counter)  # (goal, cycle) → distinct breach events

    def as_json(self) -> dict:
        """The --json line: external_id, request_id, agency, status, the SLA of every goal it has, the import
        warnings kept on it and, for a rejected request, the reasons."""
        sla = {name: {"deadline": _iso(g["deadline"]), "outcome": g["outcome"], "at": _iso(g["at"])}
               for name, g in sorted(self.goals.items()) if g["deadline"] is not None}
        line = {"external_id": self.external_id, "request_id": self.request_id, "agency": self.agency,
                "status": self.status, "sla": sla, "warnings": self.warnings}
        if self.reasons:
            line["reasons"] = self.reasons
        return line


def outcomes(*, lifecycle: list[dict], rejected: list[dict], routed: list[dict] = ()) -> dict[str, RequestOutcome]:
    """Request id → outcome, from decoded lifecycle, rejected and routed records (in topic order)."""
    found: dict[str, RequestOutcome] = {}
    seen: set[str] = set()
    for event in lifecycle:
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        _apply(found.setdefault(event["request_id"], RequestOutcome(event["external_id"], event["request_id"])),
               event)
    for record in rejected:
        submission = record["submission"]
        if submission is not None and record["request_id"] not in found:
            outcome = found.setdefault(record["request_id"], RequestOutcome(submission["external_id"],
                                                                            record["request_id"]))
            outcome.service_code = submission["service_code"]
            outcome.reasons = [r["code"] for r in record["reasons"]]
    for record in routed:
        outcome = found.get(record["request_id"])
        if outcome is None:  # routed, but no lifecycle event yet: it was accepted all the same
            outcome = found[record["request_id"]] = RequestOutcome(record["request"]["external_id"],
                                                                   record["request_id"])
            outcome.status, outcome.agency = "open", record["routing"]["agency"]
            outcome.service_code = record["request"]["service_code"]
        outcome.warnings = [w["code"] for w in record.get("warnings") or ()]
    return found


def add_missing(found: dict[str, RequestOutcome], *, events, external_id) -> int:
    """Every submitted request gets an outcome: one the platform left nowhere is `missing` (never expected;
    counted so that a loss is visible). Returns how many."""
    missing = 0
    for event in events:
        if event.kind == "submission" and event.request_id not in found:
            found[event.request_id] = RequestOutcome(external_id(event.row), event.request_id, status="missing")
            missing += 1
    return missing


def _apply(outcome: RequestOutcome, event: dict) -> None:
    outcome.agency, outcome.status, outcome.service_code = event["agency"], event["status"], event["service_code"]
    at, cycle = event["occurred_at"], event["cycle"]
    if event["kind"] == "opened":
        outcome.submitted_at = at
    if event["kind"] == "transition" and event["status"] == "closed":
        outcome.closed_at = at
    for name, deadline in event["deadlines"].items():
        goal = outcome.goals.get(name)
        if goal is None or cycle > goal["cycle"]:
            outcome.goals[name] = {"cycle": cycle, "deadline": deadline, "outcome": "open", "at": None}
        elif cycle == goal["cycle"] and goal["outcome"] == "open":
            goal["deadline"] = deadline
    if event["kind"] == "sla_breached":
        outcome.breach_events[(event["goal"], cycle)] += 1
    goal = outcome.goals.get(event["goal"]) if event["goal"] else None
    if goal is not None and goal["cycle"] == cycle and event["kind"] in ("sla_met", "sla_breached"):
        goal["outcome"] = "met" if event["kind"] == "sla_met" else "breached"
        goal["at"] = at
        if event["kind"] == "sla_breached":
            goal["deadline"] = at


def totals(found: dict[str, RequestOutcome], *, update_rejections: Counter) -> dict:
    """The summary's figures."""
    accepted = [o for o in found.values() if o.status != "rejected"]
    breaches = Counter(name for o in accepted for name, g in o.goals.items() if g["outcome"] == "breached")
    return {
        "requests": len(found), "accepted": len(accepted), "rejected": len(found) - len(accepted),
        "rejections": _ranked(Counter(code for o in found.values() for code in o.reasons)),
        "update_rejections": _ranked(update_rejections),
        "routed_per_agency": _ranked(Counter(o.agency or "triage" for o in accepted)),
        "on_time_per_agency": _on_time(accepted, key=lambda o: o.agency or "triage"),
        "on_time_per_service": _on_time(accepted, key=lambda o: o.service_code),
        "breaches": dict(sorted(breaches.items())),
        "median_hours_to_close": _median_hours(accepted),
        "warnings": _ranked(Counter(code for o in found.values() for code in o.warnings)),
        "missing": sum(1 for o in found.values() if o.status == "missing"),
        "left_out_of_times": sum(1 for o in accepted if o.closed_at and o.submitted_at
                                 and o.closed_at < o.submitted_at),
    }


def _ranked(counts: Counter) -> list[tuple]:
    """Most common first, ties by name: the same list whatever order the requests were seen in."""
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))


def _on_time(accepted: list[RequestOutcome], *, key) -> list[tuple]:
    """(group, requests, met, breached, open, on-time %, median hours to close) of the resolve goal."""
    groups = defaultdict(list)
    for outcome in accepted:
        groups[key(outcome)].append(outcome)
    rows = []
    for name, members in groups.items():
        results = Counter(o.goals.get("resolve", {}).get("outcome", "none") for o in members)
        settled = results["met"] + results["breached"]
        rate = round(100.0 * results["met"] / settled, 1) if settled else None
        rows.append((name, len(members), results["met"], results["breached"], results["open"], rate,
                     _median_hours(members)))
    return sorted(rows, key=lambda row: (-row[1], str(row[0])))


def _median_hours(outcomes_: list[RequestOutcome]) -> float | None:
    """Median hours from submission to close; a close before submission is left out (never negative)."""
    hours = [(o.closed_at - o.submitted_at).total_seconds() / 3600 for o in outcomes_
             if o.closed_at and o.submitted_at and o.closed_at >= o.submitted_at]
    return round(statistics.median(hours), 1) if hours else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
