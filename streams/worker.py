"""Build and run one stream worker: the Faust app, its agents, topics and the /metrics page."""

import faust
import structlog
from prometheus_client import generate_latest

from civicflow.streams import app as stream_app
from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import internals as kafka_internals
from civicflow.streams.kafka import lag as kafka_lag
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.kafka import transactions as kafka_transactions
from civicflow.streams.lifecycle import agents as lifecycle_agents
from civicflow.streams.lifecycle import processor as lifecycle_processor
from civicflow.streams.lifecycle.processor import LifecycleProcessor
from civicflow.streams.observability import heap, logs
from civicflow.streams.observability.ports import claim_port, free_port  # noqa: F401  (services use them from here too)
from civicflow.streams.pipeline import agents as pipeline_agents
from civicflow.streams.pipeline.stages import Pipeline
from civicflow.streams.settings import Settings

log = structlog.get_logger(__name__)
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"  # aiohttp sets the charset (utf-8) itself


def all_topic_specs(settings: Settings, jurisdictions: dict) -> list[contract_topics.TopicSpec]:
    """Every topic this platform uses, for these jurisdictions."""
    agencies = {jid: j.agencies() for jid, j in jurisdictions.items()}
    return contract_topics.Topics(prefix=settings.topic_prefix).specs(agencies, app_id=settings.app_id)


def ensure_topics(settings: Settings, jurisdictions: dict) -> list[str]:
    """Create missing topics of this platform; returns those created."""
    specs = all_topic_specs(settings, jurisdictions)
    return contract_admin.ensure_topics(
        bootstrap_servers=settings.bootstrap_servers, security=kafka_security.from_settings(settings),
        names=[s.name for s in specs],
        partitions=settings.partitions, replication_factor=settings.replication_factor,
        compacted=frozenset(s.name for s in specs if s.compacted), config=settings.topic_config)


def lifecycle_options(settings: Settings) -> lifecycle_processor.Options:
    """How the lifecycle agent keeps time, from the settings."""
    return lifecycle_processor.Options(event_time=settings.clock == "event", notify=settings.notifications,
                                       park_grace_ms=int(settings.update_grace_s * 1000),
                                       closed_retention_ms=int(settings.closed_retention_days * 86_400_000))


def build(settings: Settings, *, web_port: int | None = None) -> faust.App:
    """The configured app with the intake and lifecycle agents and /metrics registered."""
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    codec = contract_codec.from_settings(settings)
    app = stream_app.create_app(settings, web_port=web_port)

    agents = set(settings.agents.split(","))
    if "intake" in agents:
        def build_pipeline(index, changelog_topic):
            return Pipeline(jurisdictions=jurisdictions, codec=codec, topics=topics, index=index,
                            changelog_topic=changelog_topic)

        pipeline_agents.register(app, build_pipeline=build_pipeline, intake_topic=topics.intake,
                                 changelog_topic=topics.changelog(app_id=settings.app_id, table="intake_index"),
                                 idempotency_window_s=settings.idempotency_window_s,
                                 batch_within_s=settings.intake_batch_ms / 1000)
    if "lifecycle" in agents:
        lifecycle_changelog = topics.changelog(app_id=settings.app_id, table="lifecycle_state")
        processor = LifecycleProcessor(jurisdictions=jurisdictions, codec=codec, topics=topics, store={},
                                       changelog_topic=lifecycle_changelog, options=lifecycle_options(settings))
        lifecycle_agents.register(app, processor=processor, topics=topics, changelog_topic=lifecycle_changelog,
                                  tick_s=settings.timer_tick_s, store=stream_app.table_store(settings))

    @app.page("/metrics")
    async def metrics_page(web, request):
        return web.bytes(generate_latest(), content_type=METRICS_CONTENT_TYPE)

    app.civicflow_jurisdictions = jurisdictions
    return app


def run(settings: Settings) -> None:
    """Run one worker until SIGINT/SIGTERM; several may share a cluster and split the partitions."""
    kafka_transactions.check(settings)  # exactly_once on a broker without transactions: refused, one line
    logs.configure(log_format=settings.log_format, level=settings.log_level)
    kafka_internals.install(settings)  # refuses untested client versions before anything starts
    heap.watch_pauses()
    port = claim_port(settings.web_host, settings.web_port)
    app = build(settings, web_port=port)
    created = ensure_topics(settings, app.civicflow_jurisdictions)
    log.info("worker_starting", bootstrap=settings.bootstrap_servers, app_id=settings.app_id,
             processing_guarantee=settings.processing_guarantee,
             metrics=f"http://{settings.web_host}:{port}/metrics", topics_created=len(created))
    if settings.lag_interval_s:
        groups = [settings.app_id, f"{settings.app_id}-readmodel", f"{settings.app_id}-notifier"]
        kafka_lag.LagMonitor(bootstrap_servers=settings.bootstrap_servers,
                             security=kafka_security.from_settings(settings), groups=groups,
                             interval_s=settings.lag_interval_s).start()
    stream_app.run_worker(app, settings)
