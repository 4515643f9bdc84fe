"""`civicflow jurisdiction`: draft a jurisdiction directory from a city's export, and check one."""
