"""The project's base exception: every error civicflow raises derives from it."""


class CivicflowError(Exception):
    """Base of every error the project raises."""
