"""The `civicflow` command line."""
