"""Errors of the contracts package; each decode error carries its dead-letter reason code."""

from civicflow.streams.exceptions import CivicflowError


class ContractError(CivicflowError):
    """A schema, registry or wire-format problem."""


class DecodeError(ContractError):
    """Bytes that cannot be turned into a record; `code` is the machine-readable reason."""

    code = "malformed_avro"


class EmptyMessage(DecodeError): code = "empty_message"  # noqa: E701
class UnknownMagicByte(DecodeError): code = "unknown_magic_byte"  # noqa: E701
class TruncatedHeader(DecodeError): code = "truncated_header"  # noqa: E701
class UnknownSchemaId(DecodeError): code = "unknown_schema_id"  # noqa: E701
class SchemaNotReadable(DecodeError): code = "schema_not_readable"  # noqa: E701
class MalformedAvro(DecodeError): code = "malformed_avro"  # noqa: E701
class RegistryError(ContractError): """The schema registry could not be read or written."""  # noqa: E701
