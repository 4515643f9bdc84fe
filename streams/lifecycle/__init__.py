"""The request lifecycle after routing: agency updates through a state machine, SLA timers, lifecycle events."""
