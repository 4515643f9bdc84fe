"""Client SDKs: the frontend producer and the agency consumer."""
