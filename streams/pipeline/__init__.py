"""Intake pipeline: decode, validate, enrich and route, fused in one agent."""
