"""The Open311 GeoReport v2 API (JSON and XML) over the platform's read model; POSTs go to the intake topic."""
