"""SLA policies: goals per request, business calendars, and the arithmetic of deadlines, pauses and warnings."""
