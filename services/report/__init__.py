"""KPI and equity report on the read model (`civicflow report`): on-time rates, time to close, district gaps."""
