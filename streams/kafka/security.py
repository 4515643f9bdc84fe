"""Kafka client security: the settings turned into what each client library takes, in one place.

Every Kafka client of every process (the Faust workers, the projection, the notifier, the API, the CLI, the SDKs,
replays, the bench) is built with the keyword arguments of one `ClientSecurity`: `kafka_python()` for kafka-python's
KafkaConsumer, KafkaProducer and KafkaAdminClient, `aiokafka()` for aiokafka's clients, `faust()` for the Faust
app's `broker_credentials`. tests/streams/kafka/test_security.py fails when a client is built without it.

`from_settings` checks the settings first and raises SecurityConfigError with one line naming the variable at
fault: SASL without a username or password, a password both given and in a file, a missing CA, certificate, key
or password file, TLS files with a protocol without TLS, a SASL user with a protocol without SASL.
"""

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from civicflow.streams.kafka.exceptions import SecurityConfigError  # noqa: F401  (raised by the registry too)

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


@dataclass(frozen=True)
class ClientSecurity:
    """How a Kafka client connects: protocol, SASL user, TLS files. Built by `build` or `from_settings`, which
    check it; the default is PLAINTEXT."""

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True

    @property
    def uses_tls(self) -> bool:
        return self.protocol in TLS_PROTOCOLS

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in SASL_PROTOCOLS

    @property
    def principal(self) -> str | None:
        """The broker's name for this client with SASL (User:<username>), else None."""
        return f"User:{self.username}" if self.uses_sasl else None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context (the CA file or the system's CAs, the client certificate if any), None without TLS."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        context.check_hostname = self.check_hostname
        if not self.check_hostname:
            context.verify_mode = ssl.CERT_REQUIRED  # the chain is still verified; only the name is not
        if self.cert_file:
            context.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return context

    def _sasl(self) -> dict:
        return {"sasl_mechanism": self.mechanism, "sasl_plain_username": self.username,
                "sasl_plain_password": self.password} if self.uses_sasl else {}

    def kafka_python(self) -> dict:
        """Keyword arguments of kafka-python's KafkaConsumer, KafkaProducer and KafkaAdminClient."""
        tls = {"ssl_context": self.ssl_context()} if self.uses_tls else {}
        return {"security_protocol": self.protocol, **tls, **self._sasl()}

    def aiokafka(self) -> dict:
        """Keyword arguments of aiokafka's AIOKafkaConsumer, AIOKafkaProducer and admin client (same names as
        kafka-python's, which aiokafka took over)."""
        return self.kafka_python()

    def faust(self):
        """The Faust app's `broker_credentials` (None for PLAINTEXT). Faust hands them to every aiokafka client
        it makes (its consumer, producer and admin) through its transport's credentials_to_aiokafka_auth."""
        import faust

        if self.uses_sasl:
            return faust.SASLCredentials(username=self.username, password=self.password,
                                         ssl_context=self.ssl_context(), mechanism=self.mechanism)
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context())
        return None


PLAINTEXT = ClientSecurity()


def read_secret(value: str | None, path: Path | None, *, variable: str) -> str | None:
    """A secret given in `variable` or in the file `variable`_FILE names (one trailing newline dropped), or None."""
    if value is not None and path is not None:
        raise SecurityConfigError(f"{variable} and {variable}_FILE are both set: set one")
    if path is None:
        return value
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SecurityConfigError(f"{variable}_FILE={path}: cannot be read ({error.strerror or error})") from None
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def _existing(path: Path | None, variable: str) -> Path | None:
    if path is not None and not Path(path).is_file():
        raise SecurityConfigError(f"{variable}={path}: no such file")
    return path


def build(*, protocol: str = "PLAINTEXT", mechanism: str = "SCRAM-SHA-512", username: str | None = None,
          password: str | None = None, password_file: Path | None = None, ca_file: Path | None = None,
          cert_file: Path | None = None, key_file: Path | None = None,
          check_hostname: bool = True) -> ClientSecurity:
    """A checked ClientSecurity; raises SecurityConfigError (one line, naming the variable) when it cannot work."""
    prefix = "CIVICFLOW_KAFKA_"
    if protocol not in PROTOCOLS:
        raise SecurityConfigError(f"{prefix}SECURITY_PROTOCOL={protocol}: not one of {', '.join(PROTOCOLS)}")
    sasl, tls = protocol in SASL_PROTOCOLS, protocol in TLS_PROTOCOLS
    if not tls:
        for name, path in (("SSL_CA_FILE", ca_file), ("SSL_CERT_FILE", cert_file), ("SSL_KEY_FILE", key_file)):
            if path is not None:
                raise SecurityConfigError(f"{prefix}{name} is set but {prefix}SECURITY_PROTOCOL={protocol} "
                                          f"does not use TLS (use SSL or SASL_SSL)")
    if not sasl:
        if username is not None or password is not None or password_file is not None:
            raise SecurityConfigError(f"a SASL user or password is set but {prefix}SECURITY_PROTOCOL={protocol} "
                                      f"does not use SASL (use SASL_PLAINTEXT or SASL_SSL)")
        secret = None
    else:
        if mechanism not in MECHANISMS:
            raise SecurityConfigError(f"{prefix}SASL_MECHANISM={mechanism}: not one of {', '.join(MECHANISMS)}")
        if not username:
            raise SecurityConfigError(f"{prefix}SECURITY_PROTOCOL={protocol} needs {prefix}SASL_USERNAME")
        secret = read_secret(password, password_file, variable=f"{prefix}SASL_PASSWORD")
        if not secret:
            raise SecurityConfigError(f"{prefix}SECURITY_PROTOCOL={protocol} needs {prefix}SASL_PASSWORD or "
                                      f"{prefix}SASL_PASSWORD_FILE (not empty)")
    if key_file is not None and cert_file is None:
        raise SecurityConfigError(f"{prefix}SSL_KEY_FILE is set without {prefix}SSL_CERT_FILE")
    security = ClientSecurity(
        protocol=protocol, mechanism=mechanism if sasl else None, username=username if sasl else None,
        password=secret, ca_file=_existing(ca_file, f"{prefix}SSL_CA_FILE"),
        cert_file=_existing(cert_file, f"{prefix}SSL_CERT_FILE"),
        key_file=_existing(key_file, f"{prefix}SSL_KEY_FILE"), check_hostname=check_hostname)
    try:
        security.ssl_context()  # a file that is no PEM, or a key that does not match its certificate
    except ssl.SSLError as error:
        raise SecurityConfigError(f"{prefix}SSL_CA_FILE/CERT_FILE/KEY_FILE: not usable for TLS "
                                  f"({error.reason or error})") from None
    return security


def from_settings(settings) -> ClientSecurity:
    """The checked security of this process's Kafka clients, from its settings (streams/settings.py)."""
    return build(protocol=settings.kafka_security_protocol, mechanism=settings.kafka_sasl_mechanism,
                 username=settings.kafka_sasl_username, password=settings.kafka_sasl_password,
                 password_file=settings.kafka_sasl_password_file, ca_file=settings.kafka_ssl_ca_file,
                 cert_file=settings.kafka_ssl_cert_file, key_file=settings.kafka_ssl_key_file,
                 check_hostname=settings.kafka_ssl_check_hostname)
