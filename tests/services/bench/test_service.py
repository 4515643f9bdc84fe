from civicflow.services.bench import service as bench_service
from civicflow.services.broker import kafka as apache_kafka


def test_without_java_the_apache_kafka_stage_says_why_and_measures_nothing(monkeypatch, capsys):
    monkeypatch.setattr(apache_kafka, "missing_tools", lambda libs=None: ["java"])
    started = []
    monkeypatch.setattr(apache_kafka.ApacheKafka, "start", lambda self, **kw: started.append(self))
    figures = bench_service.on_apache_kafka(jurisdiction=None, records=[], values=[], data_dir=None,
                                            replay_events=0)
    assert figures == {"kafka_skipped": "no java on PATH: Apache Kafka not measured"} and not started
    bench_service._print_apache_kafka(figures)
    assert "Apache Kafka        not measured: no java on PATH" in capsys.readouterr().out


def test_the_apache_kafka_line_gives_the_ratio_its_rounds_and_the_replay(capsys):
    bench_service._print_apache_kafka({"kafka_ratio": 0.81, "kafka_ratios": [0.8, 0.81, 0.9],
                                       "kafka_pipeline_rps": 4050.0, "kafka_faust_passthrough_rps": 5000.0,
                                       "kafka_replay_events_per_s": 1900.4, "kafka_replay_events": 200_001})
    line = capsys.readouterr().out
    assert "ratio 0.810 (rounds 0.800, 0.810, 0.900; pipeline 4,050 requests/s" in line
    assert "replay (kafka) 1,900 events/s (200,001 events)" in line
