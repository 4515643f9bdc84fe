"""What an expected error means to the person at the command line.

The one place that turns the errors a user can cause (configuration, paths, a cluster that is down, a port in
use) into a few lines that say what is wrong and what to do. Anything else is a bug and keeps its traceback.
"""

import errno

import pydantic
from kafka import errors as kafka_errors

from civicflow.streams.exceptions import CivicflowError

CONFIGURATION = 2  # exit code of every error mapped here


def explain(error: BaseException, *, kafka_address: str | None = None) -> str | None:
    """The message for an expected error, or None for an unexpected one."""
    if isinstance(error, pydantic.ValidationError):
        problems = [f"  - {_variable(e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in error.errors()]
        return ("the configuration from the environment is not valid:\n" + "\n".join(problems)
                + "\n  (civicflow --help and docs/operations.md list every variable)")
    if isinstance(error, CivicflowError):
        return str(error)
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (f"an address is already in use ({error.strerror}): stop what listens there, or choose another "
                "port (the --help of the command names its port variables)")
    if isinstance(error, (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)):
        what = {FileNotFoundError: "no such file or directory", NotADirectoryError: "not a directory",
                IsADirectoryError: "is a directory, not a file", PermissionError: "permission denied"}[type(error)]
        return f"{error.filename}: {what}"
    if type(error).__module__.startswith("sqlalchemy") and _is_database_down(error):
        first = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return (f"cannot use the read model's database: {first}. Check that it is up and that DATABASE_URL "
                "names it (unset: a SQLite file in CIVICFLOW_DATA_DIR)")
    if isinstance(error, (kafka_errors.KafkaTimeoutError, kafka_errors.KafkaConnectionError)):
        where = f" at {kafka_address}" if kafka_address else ""
        return (f"lost Kafka{where} ({type(error).__name__}: {error}): check that the cluster is up and "
                "KAFKA_BOOTSTRAP_SERVERS names it")
    return None


def _variable(loc) -> str:
    """A settings field's environment variable, e.g. partitions -> CIVICFLOW_PARTITIONS."""
    from civicflow.streams.settings import Settings

    name = ".".join(map(str, loc)) or "settings"
    field = Settings.model_fields.get(name)
    if field is not None and isinstance(field.validation_alias, str):
        return field.validation_alias
    return name.upper() if field is not None else name


def _is_database_down(error: BaseException) -> bool:
    """SQLAlchemy's OperationalError (imported here only: most commands never load SQLAlchemy)."""
    from sqlalchemy import exc as sqlalchemy_exc

    return isinstance(error, sqlalchemy_exc.OperationalError)
