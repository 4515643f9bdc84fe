"""Validation of submissions against the jurisdiction's catalog and the platform's rules."""
