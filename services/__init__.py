"""Everything that is not a stream worker: CLI, SDKs, the embedded broker, the demo feed, benchmarks."""
