"""Topic names (dot-separated segments, snake_case words) and what each carries."""

import functools
from dataclasses import dataclass

from civicflow.streams.contracts import schemas as contract_schemas


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic of the platform, as the README's topics table lists it."""

    name: str
    key: str
    schema: str | None
    producers: str
    consumers: str
    compacted: bool = False


@dataclass(frozen=True)
class Topics:
    """Every topic name, with an optional prefix shared by all of them."""

    prefix: str = ""

    @property
    def intake(self) -> str:
        return f"{self.prefix}requests.submitted"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}requests.rejected"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}requests.dead_letter"

    @property
    def routed(self) -> str:
        return f"{self.prefix}requests.routed"

    @property
    def triage(self) -> str:
        return f"{self.prefix}requests.triage"

    @property
    def updates(self) -> str:
        return f"{self.prefix}requests.updates"

    @property
    def lifecycle(self) -> str:
        return f"{self.prefix}requests.lifecycle"

    @property
    def notifications(self) -> str:
        return f"{self.prefix}requests.notifications"

    @property
    def clock(self) -> str:
        return f"{self.prefix}requests.clock"

    def escalations(self, *, jurisdiction_id: str, agency: str) -> str:
        """The escalation queue of one agency, e.g. escalations.nyc.dot."""
        return f"{self.prefix}escalations.{jurisdiction_id}.{_segment(agency)}"

    def changelog(self, *, app_id: str, table: str) -> str:
        """The changelog of a worker table; derives from the stable Faust app id, e.g. civicflow.intake_index.changelog."""
        return f"{self.prefix}{app_id}.{table}.changelog"

    def work(self, *, jurisdiction_id: str, agency: str) -> str:
        """The work topic of one agency of one jurisdiction, e.g. work.nyc.dot."""
        return f"{self.prefix}work.{jurisdiction_id}.{_segment(agency)}"

    def specs(self, agencies: dict[str, list[str]], *, app_id: str = "civicflow") -> list[TopicSpec]:
        """Every topic, given the agencies of each jurisdiction and the Faust app id (names the changelog)."""
        fixed = [
            TopicSpec(self.intake, "jurisdiction_id:service_code", contract_schemas.SUBMITTED,
                      "frontends (SDK, `civicflow submit`, the Open311 API)", "intake agent"),
            TopicSpec(self.rejected, "request_id", contract_schemas.REJECTED, "intake agent (submissions), "
                      "lifecycle agent (updates)", "submitting frontends and agencies, operators"),
            TopicSpec(self.dead_letter, "the input's own key", contract_schemas.DEAD_LETTER, "intake and "
                      "lifecycle agents", "operators"),
            TopicSpec(self.routed, "request_id", contract_schemas.ROUTED, "intake agent",
                      "lifecycle agent; platform-internal readers only (read model, citizen notifications): "
                      "carries contact details", compacted=True),
            TopicSpec(self.triage, "request_id", contract_schemas.ROUTED, "intake agent",
                      "city triage staff (no contact details); they route with a transferred update"),
            TopicSpec(self.updates, "request_id", contract_schemas.UPDATE, "agencies (agency SDK, `civicflow "
                      "update`, replays)", "lifecycle agent"),
            TopicSpec(self.lifecycle, "request_id", contract_schemas.LIFECYCLE, "lifecycle agent",
                      "agencies, the read model, citizen notifications, replay summaries (no contact details)"),
            TopicSpec(self.notifications, "request_id", contract_schemas.NOTIFICATION, "lifecycle agent",
                      "notification senders only (`civicflow notifier`): carries contact details"),
            TopicSpec(self.clock, "none (one tick per partition)", contract_schemas.CLOCK_TICK,
                      "`civicflow replay` (event-time runs only)", "lifecycle agent on event time"),
            TopicSpec(self.changelog(app_id=app_id, table="intake_index"), "idem|… and dup|… index keys (JSON)",
                      None, "intake agent (Faust table changelog)", "intake agent, when it recovers a partition",
                      compacted=True),
            TopicSpec(self.changelog(app_id=app_id, table="lifecycle_state"), "request_id (JSON)", None,
                      "lifecycle agent (Faust table changelog)", "lifecycle agent, when it recovers a partition",
                      compacted=True),
        ]
        work = [
            TopicSpec(self.work(jurisdiction_id=jid, agency=agency), "request_id", contract_schemas.ROUTED,
                      "intake agent; lifecycle agent for transfers", f"agency {agency} (agency SDK; no contact details)")
            for jid, names in sorted(agencies.items()) for agency in names
        ] + [
            TopicSpec(self.escalations(jurisdiction_id=jid, agency=agency), "request_id", contract_schemas.LIFECYCLE,
                      "lifecycle agent (SLA breaches)", f"agency {agency}'s supervisors")
            for jid, names in sorted(agencies.items()) for agency in names
        ]
        return fixed + work


@functools.lru_cache(maxsize=1024)
def _segment(name: str) -> str:
    """A topic-name segment: lower case, non-alphanumerics as underscores (agencies repeat: worked out once)."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower())
