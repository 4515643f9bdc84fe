"""Kafka client adjustments that make Faust correct and fast on every Kafka-compatible broker."""
