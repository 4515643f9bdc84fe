"""civicflow stream processing: the Faust app and its agents."""
