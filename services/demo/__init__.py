"""Demo traffic: realistic New York City requests from the NYC 311 sample, some of them invalid."""
