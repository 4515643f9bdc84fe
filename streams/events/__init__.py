"""What every stream stage emits, shared by the intake pipeline and the lifecycle: records to send (models),
their deterministic event ids (ids), dead letters (dead_letters) and the processing clock (clock)."""
