"""The replication settings: defaults that keep a lone broker working, and a cluster's values read from the
environment and handed to Faust and to topic creation."""

import pydantic
import pytest

from civicflow.streams import app as stream_app
from civicflow.streams.settings import Settings


def test_the_defaults_keep_a_lone_broker_working():
    settings = Settings()
    assert (settings.replication_factor, settings.topic_min_insync_replicas, settings.producer_acks) == (1, None, "all")
    assert settings.topic_config == {}, "the cluster's own min.insync.replicas (1 on Apache Kafka)"
    assert settings.producer_acks_count == -1


def test_a_cluster_s_values_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CIVICFLOW_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("CIVICFLOW_TOPIC_MIN_INSYNC_REPLICAS", "2")
    monkeypatch.setenv("CIVICFLOW_PRODUCER_ACKS", "1")
    settings = Settings()
    assert settings.topic_config == {"min.insync.replicas": "2"}
    assert settings.producer_acks_count == 1


@pytest.mark.parametrize("values", [dict(replication_factor=1, topic_min_insync_replicas=2),
                                    dict(topic_min_insync_replicas=0), dict(producer_acks="-1")])
def test_settings_no_write_could_satisfy_are_refused(values):
    with pytest.raises(pydantic.ValidationError):
        Settings(**values)


def test_faust_replicates_the_topics_it_declares_and_waits_for_the_acks_set(tmp_path):
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", replication_factor=3, topic_min_insync_replicas=2,
                        producer_acks="all", data_dir=tmp_path)
    conf = stream_app.create_app(settings).conf
    assert (conf.topic_replication_factor, conf.producer_acks) == (3, -1)
    assert stream_app.create_app(settings.model_copy(update={"producer_acks": "1"})).conf.producer_acks == 1
