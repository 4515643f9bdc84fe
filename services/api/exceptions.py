"""Errors of the Open311 API. An ApiError is answered as the spec's error list with its HTTP status."""

from civicflow.streams.exceptions import CivicflowError


class ApiConfigError(CivicflowError):
    """The API cannot start: an unreadable or invalid API keys file."""


class ApiError(CivicflowError):
    """An answer in the spec's error format: one HTTP status, one or more descriptions."""

    status = 400

    def __init__(self, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.descriptions = list(descriptions) or ["error"]


class BadRequest(ApiError):
    """400: anything wrong with the input (every problem found is listed)."""

    status = 400


class Forbidden(ApiError):
    """403: no api_key, an unknown one, or one that may not do this."""

    status = 403


class NotFound(ApiError):
    """404: no such service, request, token or URL."""

    status = 404


class Unavailable(ApiError):
    """503: the platform could not take the request now (the broker did not accept it)."""

    status = 503
