"""Logging and metrics shared by every worker and service."""
