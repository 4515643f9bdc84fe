"""The versions of the Kafka client libraries whose internals streams/kafka relies on, checked at worker start.

The corrections in patches.py replace methods of Faust's and aiokafka's classes, and internals.py reads private
attributes of their objects: another release may rename or rework any of them silently, so a worker refuses to
start on other versions unless the operator accepts the risk (CIVICFLOW_ACCEPT_UNTESTED_CLIENTS=true). Raising a
version here is a decision taken after the suite passed on it, on both brokers.
"""

from collections.abc import Callable, Mapping
from importlib import metadata

import structlog

from civicflow.streams.kafka import exceptions as kafka_exceptions

log = structlog.get_logger(__name__)

TESTED = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0", "kafka-python": "3.0.12"}


def installed(distributions=TESTED, *, version: Callable[[str], str] = metadata.version) -> dict[str, str | None]:
    """{distribution: installed version, None when it is not installed}."""
    found = {}
    for name in distributions:
        try:
            found[name] = version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def differences(found: Mapping[str, str | None], tested: Mapping[str, str] = TESTED) -> list[str]:
    """'name installed (tested tested)' for each distribution whose installed version is not the tested one."""
    return [f"{name} {found.get(name) or 'missing'} (tested {want})" for name, want in tested.items()
            if found.get(name) != want]


def check(*, accept_untested: bool, found: Mapping[str, str | None] | None = None) -> None:
    """Refuse (one line) when the installed versions differ from the tested ones, unless the risk is accepted;
    then a warning is logged instead."""
    different = differences(installed() if found is None else found)
    if not different:
        return
    if accept_untested:
        log.warning("untested_kafka_clients", installed=different)
        return
    raise kafka_exceptions.UntestedClientVersions(
        f"refusing to start: untested Kafka client versions: {', '.join(different)}; streams/kafka corrects their "
        "internals as tested, set CIVICFLOW_ACCEPT_UNTESTED_CLIENTS=true to start anyway")
