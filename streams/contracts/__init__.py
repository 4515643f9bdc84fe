"""Public contracts: Avro schemas, their registry ids, the wire format and topic names."""
