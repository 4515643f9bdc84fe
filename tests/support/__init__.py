"""Servers the suite starts for itself (PostgreSQL, Apache Kafka), outside the code under test."""
