"""`civicflow run`: the whole platform on one machine, with demo traffic."""
