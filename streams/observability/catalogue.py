"""Which process serves which metric families (README's metrics catalogue; a test scrapes every process and
checks its families are there)."""

STAGE = ("civicflow_stage_events_in", "civicflow_stage_events_out", "civicflow_stage_events_rejected",
         "civicflow_stage_events_dead_lettered", "civicflow_stage_duration_seconds",
         "civicflow_stage_last_processed_timestamp_seconds")

CATALOGUE: dict[str, tuple[str, ...]] = {
    "worker": STAGE + ("civicflow_intake_to_routed_seconds", "civicflow_requests_routed",
                       "civicflow_consumer_lag_messages", "civicflow_sla_open_requests", "civicflow_sla_warnings",
                       "civicflow_sla_breaches", "civicflow_sla_met", "civicflow_time_to_acknowledge_seconds",
                       "civicflow_time_to_resolve_seconds", "civicflow_sla_timers_open",
                       "civicflow_time_to_resolve_by_district_seconds",
                       "civicflow_time_to_resolve_by_channel_seconds"),
    "projection": STAGE + ("civicflow_projection_records_applied", "civicflow_projection_records_duplicate",
                           "civicflow_projection_records_undecodable", "civicflow_projection_records_failed",
                           "civicflow_projection_batch_retries", "civicflow_projection_batch_duration_seconds",
                           "civicflow_projection_last_applied_timestamp_seconds"),
    "api": STAGE + ("civicflow_api_requests", "civicflow_api_request_duration_seconds"),
    "notifier": STAGE + ("civicflow_notifications_delivered",),
}
