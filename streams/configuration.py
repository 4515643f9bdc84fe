"""The base of every model of a human-edited configuration file (jurisdiction directory, API keys, replay
mappings): an unknown key is an error, not silently ignored, and a loaded value cannot change."""

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
