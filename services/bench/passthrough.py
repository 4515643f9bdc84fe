"""Baseline: a bare Faust agent forwarding raw bytes, with the same app settings as the pipeline worker."""

from civicflow.streams import app as stream_app
from civicflow.streams import settings as stream_settings
from civicflow.streams.kafka import internals as kafka_internals
from civicflow.streams.observability import logs


def main() -> None:
    settings = stream_settings.get()
    logs.configure(log_format=settings.log_format, level=settings.log_level)
    kafka_internals.install(settings)  # as the pipeline worker starts
    app = stream_app.create_app(settings)
    source = app.topic(f"{settings.topic_prefix}bench.passthrough_in")
    target = app.topic(f"{settings.topic_prefix}bench.passthrough_out")

    @app.agent(source, name="passthrough")
    async def passthrough(stream):
        async for value in stream:
            await target.send(value=value)

    stream_app.run_worker(app, settings)  # as the pipeline worker runs


if __name__ == "__main__":
    main()
