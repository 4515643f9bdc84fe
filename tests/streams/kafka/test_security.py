"""Kafka client security from the settings: the keyword arguments of each library, the one-line configuration
errors, and a check that every Kafka client of the project is built with them."""

import ast
import ssl

import faust
import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.kafka.exceptions import SecurityConfigError
from civicflow.streams.settings import REPO_ROOT, Settings
from tests.support import tls as tls_support


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return tls_support.CertificateAuthority(tmp_path_factory.mktemp("ca"))


def settings(**values) -> Settings:
    return Settings(**values)


def test_plaintext_by_default_adds_only_the_protocol():
    security = kafka_security.from_settings(settings())
    assert security == kafka_security.PLAINTEXT
    assert security.kafka_python() == {"security_protocol": "PLAINTEXT"}
    assert security.aiokafka() == {"security_protocol": "PLAINTEXT"}
    assert security.faust() is None


def test_sasl_ssl_with_scram_maps_to_each_library(ca):
    security = kafka_security.from_settings(settings(
        CIVICFLOW_KAFKA_SECURITY_PROTOCOL="SASL_SSL", CIVICFLOW_KAFKA_SASL_MECHANISM="SCRAM-SHA-256",
        CIVICFLOW_KAFKA_SASL_USERNAME="platform", CIVICFLOW_KAFKA_SASL_PASSWORD="s3cret",
        CIVICFLOW_KAFKA_SSL_CA_FILE=str(ca.cert)))
    kwargs = security.kafka_python()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert (kwargs["sasl_mechanism"], kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == \
        ("SCRAM-SHA-256", "platform", "s3cret")
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert any("civicflow test CA" in str(c.get("subject")) for c in context.get_ca_certs())
    assert security.aiokafka().keys() == kwargs.keys()
    credentials = security.faust()
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.protocol.value, credentials.mechanism.value, credentials.username) == \
        ("SASL_SSL", "SCRAM-SHA-256", "platform")
    assert credentials.ssl_context is not None
    assert security.principal == "User:platform"
    assert "s3cret" not in repr(security)


def test_faust_takes_the_credentials_to_every_aiokafka_client_it_makes(ca):
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    security = kafka_security.build(protocol="SASL_SSL", mechanism="SCRAM-SHA-512", username="platform",
                                    password="pw", ca_file=ca.cert)
    auth = credentials_to_aiokafka_auth(security.faust())
    assert auth["security_protocol"] == "SASL_SSL" and auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert auth["sasl_plain_username"] == "platform" and auth["sasl_plain_password"] == "pw"


def test_sasl_plaintext_has_no_tls_and_ssl_has_no_sasl(ca):
    sasl = kafka_security.build(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username="u", password="p")
    assert "ssl_context" not in sasl.kafka_python()
    assert sasl.faust().protocol.value == "SASL_PLAINTEXT"
    tls = kafka_security.build(protocol="SSL", ca_file=ca.cert)
    assert set(tls.kafka_python()) == {"security_protocol", "ssl_context"}
    assert isinstance(tls.faust(), faust.SSLCredentials)


def test_the_password_comes_from_its_file_without_the_trailing_newline(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("from-a-secret\n")
    security = kafka_security.from_settings(settings(
        CIVICFLOW_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", CIVICFLOW_KAFKA_SASL_USERNAME="u",
        CIVICFLOW_KAFKA_SASL_PASSWORD_FILE=str(secret)))
    assert security.password == "from-a-secret"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1),
       st.sampled_from(["", "\n", "\r\n"]))
def test_a_password_file_gives_back_exactly_what_was_written(tmp_path_factory, password, ending):
    path = tmp_path_factory.mktemp("secret") / "password"
    path.write_bytes((password + ending).encode())
    assert kafka_security.read_secret(None, path, variable="X") == password


def test_a_client_certificate_is_loaded(ca):
    client = ca.issue("client")
    context = kafka_security.build(protocol="SSL", ca_file=ca.cert, cert_file=client.cert,
                                   key_file=client.key).ssl_context()
    assert isinstance(context, ssl.SSLContext)


def test_hostname_checks_can_be_turned_off_but_the_chain_is_still_verified(ca):
    context = kafka_security.build(protocol="SSL", ca_file=ca.cert, check_hostname=False).ssl_context()
    assert not context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(("values", "message"), [
    ({"protocol": "SASL_SSL", "password": "p"}, "needs CIVICFLOW_KAFKA_SASL_USERNAME"),
    ({"protocol": "SASL_PLAINTEXT", "username": "u"}, "needs CIVICFLOW_KAFKA_SASL_PASSWORD"),
    ({"protocol": "SASL_PLAINTEXT", "username": "u", "password": ""}, "(not empty)"),
    ({"protocol": "SASL_SSL", "username": "u", "password": "p", "mechanism": "GSSAPI"}, "SASL_MECHANISM=GSSAPI"),
    ({"protocol": "SASL_SSL", "username": "u", "password": "p", "password_file": "/nonexistent"},
     "both set"),
    ({"protocol": "SASL_SSL", "username": "u", "password_file": "/nonexistent/password"},
     "CIVICFLOW_KAFKA_SASL_PASSWORD_FILE=/nonexistent/password: cannot be read"),
    ({"protocol": "SSL", "ca_file": "/nonexistent/ca.pem"}, "CIVICFLOW_KAFKA_SSL_CA_FILE=/nonexistent/ca.pem: no such"),
    ({"protocol": "SASL_PLAINTEXT", "username": "u", "password": "p", "ca_file": "/x"}, "does not use TLS"),
    ({"protocol": "PLAINTEXT", "username": "u"}, "does not use SASL"),
    ({"protocol": "TLS"}, "SECURITY_PROTOCOL=TLS: not one of"),
    ({"protocol": "SSL", "key_file": "/x"}, "SSL_KEY_FILE is set without"),
])
def test_a_configuration_that_cannot_work_is_one_line_naming_the_variable(values, message):
    with pytest.raises(SecurityConfigError) as raised:
        kafka_security.build(**values)
    text = str(raised.value)
    assert message in text and "\n" not in text


def test_a_ca_file_that_is_no_certificate_is_refused(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(SecurityConfigError, match="not usable for TLS"):
        kafka_security.build(protocol="SSL", ca_file=bogus)


def test_the_settings_refuse_an_unknown_protocol_or_mechanism():
    with pytest.raises(ValueError):
        Settings(CIVICFLOW_KAFKA_SECURITY_PROTOCOL="KERBEROS")
    with pytest.raises(ValueError):
        Settings(CIVICFLOW_KAFKA_SASL_MECHANISM="GSSAPI")


def test_the_password_is_not_in_the_settings_repr():
    assert "hunter2" not in repr(Settings(CIVICFLOW_KAFKA_SASL_PASSWORD="hunter2",
                                          SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO="u:hunter2"))


# --- every Kafka client of the project goes through this module -------------------------------------------------

KAFKA_PYTHON = {"KafkaConsumer", "KafkaProducer", "KafkaAdminClient", "KafkaClient"}
AIOKAFKA = {"AIOKafkaConsumer", "AIOKafkaProducer", "AIOKafkaAdminClient", "AIOKafkaClient"}


def _sources():
    for package in ("streams", "services"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), filename=str(path))


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _spreads(node: ast.Call, method: str) -> bool:
    """Whether the call has `**<something>.<method>()` among its keywords."""
    return any(k.arg is None and isinstance(k.value, ast.Call) and isinstance(k.value.func, ast.Attribute)
               and k.value.func.attr == method for k in node.keywords)


def test_every_kafka_client_is_built_with_the_security_keyword_arguments():
    found, missing = 0, []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            method = "kafka_python" if name in KAFKA_PYTHON else "aiokafka" if name in AIOKAFKA else None
            if name == "App" and isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "faust":
                found += 1
                if not any(k.arg == "broker_credentials" for k in node.keywords):
                    missing.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} faust.App without broker_credentials")
            elif method:
                found += 1
                if not _spreads(node, method):
                    missing.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {name} without **….{method}()")
    assert found >= 20, "the scan found the project's clients"
    assert not missing, "\n".join(missing)


def test_every_function_taking_a_cluster_address_takes_its_security_too():
    """A function or class with a `bootstrap_servers` parameter has a `security` parameter without a default, and
    every call passing `bootstrap_servers=` to one of the project's functions passes `security=` too, so that no
    caller can forget it."""
    missing = []
    for path, tree in _sources():
        where = path.relative_to(REPO_ROOT)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
                if "bootstrap_servers" not in names:
                    continue
                defaults = {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
                defaults |= {a.arg for a in (args.posonlyargs + args.args)[len(args.posonlyargs + args.args)
                                                                           - len(args.defaults):]}
                if "security" not in names or "security" in defaults:
                    missing.append(f"{where}:{node.lineno} {node.name}")
            elif isinstance(node, ast.Call):
                name = _called(node)
                keywords = {k.arg for k in node.keywords}
                if ("bootstrap_servers" in keywords and name not in KAFKA_PYTHON | AIOKAFKA
                        and "security" not in keywords and not _spreads(node, "kafka_python")):
                    missing.append(f"{where}:{node.lineno} call of {name}")
    assert not missing, "\n".join(missing)


def test_the_structural_checks_would_catch_a_client_without_security():
    tree = ast.parse("KafkaConsumer('t', bootstrap_servers=b)\nAIOKafkaProducer(bootstrap_servers=b, "
                     "**security.kafka_python())")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n) in KAFKA_PYTHON | AIOKAFKA]
    assert [_spreads(c, "kafka_python" if _called(c) in KAFKA_PYTHON else "aiokafka") for c in calls] == \
        [False, False]
