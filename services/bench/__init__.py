"""`make bench`: pipeline throughput and latency against baselines measured in the same run."""
