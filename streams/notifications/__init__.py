"""Citizen notifications: which status changes the citizen hears about, in which language, with which words."""
