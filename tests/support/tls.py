"""A throwaway certificate authority for the tests: a CA and certificates it signs, made with `cryptography`.

Every file is PEM: what Kafka's PEM key stores (ssl.keystore.type=PEM), Python's ssl module and an https server all
read. Keys are unencrypted PKCS#8 (the files live in a test's temporary folder only).
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOCAL_NAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class Issued:
    """A certificate and its key: `cert` (the certificate, then the CA's), `key`, and `bundle` (key + chain, the
    form of Kafka's PEM key store)."""

    cert: Path
    key: Path
    bundle: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "civicflow tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class CertificateAuthority:
    """A CA whose certificate is written to `<folder>/ca.pem`; `issue` signs server or client certificates."""

    def __init__(self, folder: Path, *, name: str = "civicflow test CA") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self._cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                      .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                      .not_valid_before(now - datetime.timedelta(minutes=5))
                      .not_valid_after(now + datetime.timedelta(days=2))
                      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                      .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()),
                                     critical=False)
                      .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                   content_commitment=False, key_encipherment=False,
                                                   data_encipherment=False, key_agreement=False,
                                                   encipher_only=False, decipher_only=False), critical=True)
                      .sign(self._key, hashes.SHA256()))
        self.cert = self.folder / "ca.pem"
        self.cert.write_bytes(_cert_pem(self._cert))

    def issue(self, name: str, *, hosts: tuple[str, ...] = LOCAL_NAMES) -> Issued:
        """A certificate for `name`, valid for the hosts (DNS names or IP addresses), usable by servers and
        clients; written as <name>.pem, <name>.key and <name>-bundle.pem."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        names = [x509.IPAddress(ipaddress.ip_address(host)) if host.replace(".", "").isdigit() else x509.DNSName(host)
                 for host in hosts]
        cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(self._cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                # Python 3.13's default TLS context verifies strictly (VERIFY_X509_STRICT): key identifiers required
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(self._key, hashes.SHA256()))
        chain = _cert_pem(cert) + _cert_pem(self._cert)
        issued = Issued(cert=self.folder / f"{name}.pem", key=self.folder / f"{name}.key",
                        bundle=self.folder / f"{name}-bundle.pem")
        issued.cert.write_bytes(chain)
        issued.key.write_bytes(_key_pem(key))
        issued.bundle.write_bytes(_key_pem(key) + chain)
        return issued
