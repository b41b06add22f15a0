"""``--tls adhoc``: a throwaway self-signed certificate for HTTPS on localhost.

Rule 1: the certificate names exactly where the server is reached (``localhost``,
127.0.0.1, ::1 and the bound host), is a leaf and not a CA (so trusting it by mistake
can vouch for nothing else), uses a P-256 key (made in milliseconds) and lives 30
days, well under the browsers' 398-day limit.
Rule 2: nothing is kept: the key and certificate are written to a private temporary
directory only because :meth:`ssl.SSLContext.load_cert_chain` reads files, and the
caller removes it.  A reloader's children reuse their parent's pair (through
:data:`ADHOC_VARIABLE`), so the fingerprint the user accepted stays valid.
Rule 3: :mod:`cryptography` is an optional extra (``devserve[tls]``); without it the
user gets one line saying what to install, never a traceback.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass

__all__ = [
    "ADHOC_VARIABLE",
    "AdhocCertificate",
    "MissingCryptography",
    "announce",
    "fingerprint",
    "load_adhoc",
    "make_adhoc",
]

#: Environment variable through which a reloader's children find the parent's pair.
ADHOC_VARIABLE = "DEVSERVE_ADHOC_TLS"
_LIFETIME = datetime.timedelta(days=30)


class MissingCryptography(Exception):
    """The optional :mod:`cryptography` package is not installed."""

    def __str__(self) -> str:
        return (
            "--tls adhoc needs the 'cryptography' package to make a certificate: "
            "pip install 'devserve[tls]' (or pass --tls-cert/--tls-key)"
        )


@dataclass(frozen=True)
class AdhocCertificate:
    """Where an adhoc certificate and its key are, and what they name.

    .. versionadded:: 0.1
    """

    certfile: str
    keyfile: str
    names: tuple[str, ...]
    #: The SHA-256 fingerprint of the certificate, as browsers show it.
    fingerprint: str


def fingerprint(der: bytes) -> str:
    """Return the SHA-256 fingerprint of a DER certificate as ``AB:CD:...``."""
    return ":".join("%02X" % byte for byte in hashlib.sha256(der).digest())


def _names(host: str | None) -> tuple[str, ...]:
    names = ["localhost", "127.0.0.1", "::1"]
    if host and host not in ("", "0.0.0.0", "::") and host not in names:
        names.append(host)
    return tuple(names)


def make_adhoc(directory: str, host: str | None = None) -> AdhocCertificate:
    """Make a self-signed certificate for localhost (and *host*) in *directory*.

    Raises :exc:`MissingCryptography` when :mod:`cryptography` is not installed.

    .. versionadded:: 0.1
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise MissingCryptography from None

    names = _names(host)
    alternatives: list[x509.GeneralName] = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "devserve development certificate"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    # An hour of slack backwards: a client whose clock is a little behind still accepts.
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile = os.path.join(directory, "adhoc-cert.pem")
    keyfile = os.path.join(directory, "adhoc-key.pem")
    with open(certfile, "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))
    # The key is readable by its owner only, whatever the umask.
    descriptor = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return AdhocCertificate(certfile, keyfile, names, fingerprint(der))


def load_adhoc(certfile: str, keyfile: str, names: tuple[str, ...]) -> AdhocCertificate:
    """Describe an adhoc pair made earlier (by a reloader's parent)."""
    with open(certfile, encoding="ascii") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return AdhocCertificate(certfile, keyfile, names, fingerprint(der))


def announce(certificate: AdhocCertificate) -> str:
    """The line printed at start: what the certificate names, and its fingerprint."""
    return "TLS: self-signed certificate for %s, SHA-256 fingerprint %s" % (
        ", ".join(certificate.names),
        certificate.fingerprint,
    )
