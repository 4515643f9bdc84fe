"""The platform on a secured Apache Kafka: SASL_SSL only (no PLAINTEXT listener), SCRAM-SHA-512 users created with
the admin API, the StandardAuthorizer and the ACLs of streams/kafka/acls.py.

Its own node (tests/support/kafka.py start_secure), started once for the module in the Apache Kafka run
(`pytest -m integration --broker=kafka`, make test's second run; the embedded run skips the module rather than
start the same node twice): skipped without java (or mvn while the jars are not cached), failed instead in CI.
"""

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from civicflow.services.demo import nyc311
from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.services.sdk.consumer import AgencyConsumer
from civicflow.services.sdk.exceptions import DeliveryError
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import acls as kafka_acls
from civicflow.streams.kafka import authorization as kafka_authorization
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import Settings
from tests.support import kafka as kafka_support

pytestmark = pytest.mark.integration

CODEC = contract_codec.from_url(None)
PREFIX, APP_ID = "sec.", "civicflow-sec"
TOPICS = contract_topics.Topics(prefix=PREFIX)
AGENCY_A, AGENCY_B = "DOT", "DSNY"


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    """The secured node with its users: platform, one agency for each of two agencies, a frontend."""
    if request.config.getoption("--broker") != "kafka":
        pytest.skip("Apache Kafka with SASL_SSL runs in the --broker=kafka run (make test's second run)")
    try:
        secured = kafka_support.start_secure(tmp_path_factory.mktemp("secure-kafka"))
    except kafka_support.KafkaUnavailable as error:
        kafka_support.unavailable(str(error))
    try:
        secured.add_user("platform", grants=kafka_acls.platform(principal="User:platform", topic_prefix=PREFIX,
                                                                app_id=APP_ID))
        for agency in (AGENCY_A, AGENCY_B):
            name = f"agency-{agency.lower()}"
            secured.add_user(name, grants=kafka_acls.agency(principal=f"User:{name}", topics=TOPICS,
                                                            jurisdiction_id="nyc", agency=agency,
                                                            group_prefix=f"nyc.{agency.lower()}"))
        secured.add_user("frontend", grants=kafka_acls.frontend(principal="User:frontend", topics=TOPICS))
        yield secured
    finally:
        secured.stop()


@pytest.fixture(scope="module")
def platform(cluster, tmp_path_factory):
    """The platform's settings, as its processes read them from the environment (password from a file), and its
    topics created with the platform principal."""
    folder = tmp_path_factory.mktemp("platform")
    password = folder / "kafka-password"
    password.write_text(cluster.users["platform"] + "\n")
    settings = Settings(
        KAFKA_BOOTSTRAP_SERVERS=cluster.bootstrap_servers, CIVICFLOW_BROKER_KIND="kafka",
        CIVICFLOW_TOPIC_PREFIX=PREFIX, CIVICFLOW_APP_ID=APP_ID, CIVICFLOW_PARTITIONS=2,
        CIVICFLOW_DATA_DIR=str(folder / "data"), CIVICFLOW_LOG_FORMAT="json", CIVICFLOW_WEB_PORT=16566,
        CIVICFLOW_TIME_HORIZON_DAYS=36525, CIVICFLOW_LAG_INTERVAL_S=1,
        CIVICFLOW_KAFKA_SECURITY_PROTOCOL="SASL_SSL", CIVICFLOW_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        CIVICFLOW_KAFKA_SASL_USERNAME="platform", CIVICFLOW_KAFKA_SASL_PASSWORD_FILE=str(password),
        CIVICFLOW_KAFKA_SSL_CA_FILE=str(cluster.ca.cert))
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    assert {AGENCY_A, AGENCY_B} <= set(jurisdictions["nyc"].agencies())
    stream_worker.ensure_topics(settings, jurisdictions)
    return settings


def _request(agency: str, number: int) -> dict:
    """A valid NYC request from the 2011 sample that routes to `agency`."""
    jurisdiction = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]
    row = next(r for r in nyc311.read_rows() if r["Agency"] == agency and r["Latitude"])
    request = nyc311.to_request(row, jurisdiction=jurisdiction,
                                submitted_at=datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=30 * number))
    request.update(request_id=f"secured-{agency.lower()}-{number}", idempotency_key=f"secured-{number}")
    return request


def _agency(cluster, agency: str, *, topic_of: str | None = None, updates=None) -> AgencyConsumer:
    """The agency SDK's consumer with the agency's own principal, on its work topic (or another agency's)."""
    return AgencyConsumer(bootstrap_servers=cluster.bootstrap_servers,
                          security=cluster.security(f"agency-{agency.lower()}"),
                          topic=TOPICS.work(jurisdiction_id="nyc", agency=topic_of or agency),
                          group_id=f"nyc.{agency.lower()}.dispatch", codec=CODEC, agency=agency, updates=updates)


def test_the_node_has_no_plaintext_listener_and_refuses_plaintext_clients(cluster):
    protocols = cluster.node.server_properties()["listener.security.protocol.map"]
    assert "PLAINTEXT" not in {entry.split(":")[1] for entry in protocols.split(",")}, protocols
    with pytest.raises(KafkaError):
        KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers, request_timeout_ms=3000,
                         api_version_auto_timeout_ms=3000, **kafka_security.PLAINTEXT.kafka_python())


def test_a_wrong_password_is_refused(cluster):
    wrong = kafka_security.build(protocol="SASL_SSL", username="platform", password="not-the-password",
                                 ca_file=cluster.ca.cert)
    with pytest.raises(KafkaError):
        KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers, request_timeout_ms=3000,
                         api_version_auto_timeout_ms=3000, **wrong.kafka_python()).close()


def test_an_agency_reading_another_agency_s_work_topic_is_refused_by_the_broker(cluster, platform):
    consumer = _agency(cluster, AGENCY_A, topic_of=AGENCY_B)
    try:
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            next(consumer.requests(idle_timeout_s=20))
        assert TOPICS.work(jurisdiction_id="nyc", agency=AGENCY_B) in str(refused.value)
    finally:
        consumer.close()


def test_an_agency_writes_updates_but_not_submissions(cluster, platform):
    security = cluster.security(f"agency-{AGENCY_A.lower()}")
    with UpdateProducer(bootstrap_servers=cluster.bootstrap_servers, security=security, topics=TOPICS,
                        codec=CODEC) as updates:
        _, pending = updates.send(request_id="no-such-request", status="acknowledged", agency=AGENCY_A)
        assert pending.get(timeout=30).topic == TOPICS.updates
    with RequestProducer(bootstrap_servers=cluster.bootstrap_servers, security=security, topics=TOPICS,
                         codec=CODEC) as producer:
        _, pending = producer.submit(_request(AGENCY_A, 90))
        with pytest.raises(DeliveryError, match="TopicAuthorizationFailed"):
            pending.get(timeout=30)


def test_a_frontend_writes_submissions_and_nothing_else(cluster, platform):
    security = cluster.security("frontend")
    with RequestProducer(bootstrap_servers=cluster.bootstrap_servers, security=security, topics=TOPICS,
                         codec=CODEC) as producer:
        # not Avro: the platform dead-letters it with its raw bytes
        assert producer.send_raw(key=b"k", value=b"not avro").get(timeout=30).topic == TOPICS.intake
    with UpdateProducer(bootstrap_servers=cluster.bootstrap_servers, security=security, topics=TOPICS,
                        codec=CODEC) as updates:
        _, pending = updates.send(request_id="r", status="acknowledged", agency=AGENCY_A)
        with pytest.raises(DeliveryError, match="TopicAuthorizationFailed"):
            pending.get(timeout=30)
    reader = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, enable_auto_commit=False,
                           **security.kafka_python())
    try:
        reader.assign([TopicPartition(TOPICS.routed, 0)])  # routed requests carry contact details
        records = [reader.poll(timeout_ms=200) for _ in range(10)]
        # the metadata answer refused the topic (TOPIC_AUTHORIZATION_FAILED): no leader to fetch from
        assert kafka_authorization.refused_topics(reader) == {TOPICS.routed} and not any(records)
    finally:
        reader.close()


def test_the_platform_principal_routes_a_frontend_s_requests_to_each_agency_which_reads_only_its_own(
        cluster, platform, start_worker):
    worker = start_worker(platform, "secured-worker")
    requests = [_request(AGENCY_A, 1), _request(AGENCY_B, 2)]
    with RequestProducer(bootstrap_servers=cluster.bootstrap_servers, security=cluster.security("frontend"),
                         topics=TOPICS, codec=CODEC) as producer:
        for request in requests:
            producer.submit(request)[1].get(timeout=30)

    received = {}
    for agency in (AGENCY_A, AGENCY_B):
        updates = UpdateProducer(bootstrap_servers=cluster.bootstrap_servers,
                                 security=cluster.security(f"agency-{agency.lower()}"), topics=TOPICS, codec=CODEC)
        consumer = _agency(cluster, agency, updates=updates)
        try:
            for request in consumer.requests(idle_timeout_s=90):
                received.setdefault(agency, []).append(request["request_id"])
                consumer.acknowledge(request)[1].get(timeout=30)  # the agency's own principal writes the update
                break
        finally:
            consumer.close()
            updates.close()
    assert received == {AGENCY_A: ["secured-dot-1"], AGENCY_B: ["secured-dsny-2"]}, worker.log()[-3000:]

    # the lifecycle agent took both acknowledgements: every request is in exactly one place, nothing refused
    platform_security = kafka_security.from_settings(platform)
    names = [TOPICS.lifecycle, TOPICS.rejected, TOPICS.dead_letter, TOPICS.routed]
    messages = sdk_consumer.read_until(
        bootstrap_servers=cluster.bootstrap_servers, security=platform_security, topics=names, timeout_s=90,
        until=lambda seen: sum(1 for m in seen if m.topic == TOPICS.lifecycle
                               and CODEC.decode(contract_schemas.LIFECYCLE, m.value)["status"] == "acknowledged") >= 2)
    places = Counter((m.topic, record["request_id"]) for m in messages if m.topic in (TOPICS.routed, TOPICS.rejected)
                     for record in [CODEC.decode(CODEC.subject_of(m.value), m.value)]
                     if record["request_id"].startswith("secured-"))
    assert places == {(TOPICS.routed, "secured-dot-1"): 1, (TOPICS.routed, "secured-dsny-2"): 1}
    acknowledged = {CODEC.decode(contract_schemas.LIFECYCLE, m.value)["request_id"] for m in messages
                    if m.topic == TOPICS.lifecycle
                    and CODEC.decode(contract_schemas.LIFECYCLE, m.value)["status"] == "acknowledged"}
    assert acknowledged == {"secured-dot-1", "secured-dsny-2"}
    log = worker.log()
    assert '"worker_starting"' in log and "Traceback" not in log
    assert "consumer_lag_unavailable" not in log, "the platform's ACLs let its lag monitor read its groups"
