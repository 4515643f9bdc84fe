"""A jurisdiction's configuration: catalog, boundaries, routing and priority rules, read from its directory."""
