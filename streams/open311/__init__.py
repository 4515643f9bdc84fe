"""Open311 GeoReport v2, the public contract: its fields (fields.py), its statuses and the platform's mapping to
them and to FixMyStreet's (statuses.py), and its JSON and XML documents (formats.py)."""
