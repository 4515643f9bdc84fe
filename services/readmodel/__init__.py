"""The request read model: a projection of the platform's topics into SQL (SQLite or PostgreSQL)."""
