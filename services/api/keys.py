"""API keys (deploy/api/keys.yaml, CIVICFLOW_API_KEYS): each client's key, its intake channel and, for agency
keys, the agency whose status updates it may send."""

import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pydantic
import yaml

from civicflow.services.api.exceptions import ApiConfigError, Forbidden
from civicflow.services.sdk.requests import CHANNELS
from civicflow.streams.configuration import ConfigModel


class ApiKey(ConfigModel):

    client: str
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    agency: str | None = None


class KeysFile(ConfigModel):

    keys: dict[str, ApiKey]


def load(path: Path, *, jurisdictions: Mapping) -> dict[str, ApiKey]:
    """The keys of the file, checked (every agency must be one of a jurisdiction's agencies); raises
    ApiConfigError naming every problem."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        parsed = KeysFile.model_validate(raw if raw is not None else {})
    except OSError as error:
        raise ApiConfigError(f"{path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ApiConfigError(f"{path}: not valid YAML ({error})") from None
    except pydantic.ValidationError as error:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        raise ApiConfigError(f"{path}: " + "; ".join(problems)) from None
    agencies = {code for j in jurisdictions.values() for code in j.agency_names}
    problems = [f"keys.{name}.agency: {key.agency!r} is no jurisdiction's agency"
                for name, key in parsed.keys.items() if key.agency is not None and key.agency not in agencies]
    if problems:
        raise ApiConfigError(f"{path}: " + "; ".join(problems))
    return dict(parsed.keys)


def authenticate(keys: Mapping[str, ApiKey], api_key: str | None) -> ApiKey:
    """The key's client; Forbidden (403) when no key or an unknown one was given."""
    if not api_key:
        raise Forbidden("api_key is required")
    given = api_key.encode("utf-8", errors="replace")
    for name, key in keys.items():
        if hmac.compare_digest(name.encode("utf-8"), given):
            return key
    raise Forbidden("api_key is not valid")
