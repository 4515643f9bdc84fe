"""`civicflow replay`: a city's history through the whole pipeline, on event time, with a summary."""
