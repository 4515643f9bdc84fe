"""The worker's start refuses Kafka client versions other than the tested ones, unless the operator accepts them."""

from importlib import metadata
from types import SimpleNamespace

import pytest

from civicflow.streams.kafka import exceptions as kafka_exceptions
from civicflow.streams.kafka import internals as kafka_internals
from civicflow.streams.kafka import versions as kafka_versions
from civicflow.streams.settings import Settings


def test_the_installed_versions_are_the_tested_ones():
    assert kafka_versions.installed() == kafka_versions.TESTED
    kafka_versions.check(accept_untested=False)  # the suite's own environment starts


def test_a_different_version_is_refused_in_one_line_naming_it():
    found = {**kafka_versions.TESTED, "aiokafka": "0.15.0"}
    with pytest.raises(kafka_exceptions.UntestedClientVersions) as refused:
        kafka_versions.check(accept_untested=False, found=found)
    message = str(refused.value)
    assert "\n" not in message
    assert "aiokafka 0.15.0 (tested 0.14.0)" in message and "CIVICFLOW_ACCEPT_UNTESTED_CLIENTS" in message
    assert "faust-streaming" not in message


def test_a_missing_distribution_is_refused():
    def version(name):
        if name == "kafka-python":
            raise metadata.PackageNotFoundError(name)
        return kafka_versions.TESTED[name]

    found = kafka_versions.installed(version=version)
    assert found["kafka-python"] is None
    assert kafka_versions.differences(found) == ["kafka-python missing (tested 3.0.12)"]


def test_the_operator_may_accept_untested_versions(monkeypatch):
    monkeypatch.setenv("CIVICFLOW_ACCEPT_UNTESTED_CLIENTS", "true")
    assert Settings().accept_untested_clients is True
    kafka_versions.check(accept_untested=True, found={name: "9.9.9" for name in kafka_versions.TESTED})


def test_install_checks_before_it_patches(monkeypatch):
    applied = []
    monkeypatch.setattr(kafka_internals.kafka_patches, "apply", applied.append)
    monkeypatch.setattr(kafka_versions, "installed", lambda: {**kafka_versions.TESTED, "faust-streaming": "0.16.0"})
    settings = SimpleNamespace(accept_untested_clients=False)
    with pytest.raises(kafka_exceptions.UntestedClientVersions):
        kafka_internals.install(settings)
    assert applied == []
    kafka_internals.install(SimpleNamespace(accept_untested_clients=True))
    assert len(applied) == 1
