"""``--tls adhoc``: a real TLS client checks the certificate, its names and fingerprint."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from devserve import ThreadingHTTPSServer
from devserve.dev.adhoc_tls import make_adhoc
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, QuietHandler

FINGERPRINT = re.compile(r"SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")


class Hello(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")


def colon_hex(der: bytes) -> str:
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def fetch(port: int, context: ssl.SSLContext, server_name: str) -> tuple[bytes, bytes]:
    """GET / over TLS; return the server's certificate (DER) and the answer."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
    with raw, context.wrap_socket(raw, server_hostname=server_name) as tls:
        der = tls.getpeercert(binary_form=True)
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert der is not None
    return der, answer


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "::1"])
def test_adhoc_certificate_verifies_for_each_local_name(tmp_path: Path, name: str) -> None:
    certificate = make_adhoc(str(tmp_path))
    assert stat.S_IMODE(os.stat(certificate.keyfile).st_mode) == 0o600
    server = ThreadingHTTPSServer(
        ("127.0.0.1", 0), Hello, certfile=certificate.certfile, keyfile=certificate.keyfile
    )
    client = ssl.create_default_context(cafile=certificate.certfile)  # hostname checked
    with ServerThread(server) as running:
        assert running.url.startswith("https://")
        der, answer = fetch(running.port, client, name)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"hi")
    assert colon_hex(der) == certificate.fingerprint


def test_adhoc_certificate_is_refused_for_other_names(tmp_path: Path) -> None:
    certificate = make_adhoc(str(tmp_path))
    server = ThreadingHTTPSServer(
        ("127.0.0.1", 0), Hello, certfile=certificate.certfile, keyfile=certificate.keyfile
    )
    client = ssl.create_default_context(cafile=certificate.certfile)
    with ServerThread(server) as running, pytest.raises(ssl.SSLCertVerificationError):
        fetch(running.port, client, "example.com")


def test_adhoc_certificate_is_a_short_lived_leaf(tmp_path: Path) -> None:
    from cryptography import x509

    certificate = make_adhoc(str(tmp_path), "devbox.test")
    cert = x509.load_pem_x509_certificate(Path(certificate.certfile).read_bytes())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 31
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "devbox.test"]
    assert certificate.names == ("localhost", "127.0.0.1", "::1", "devbox.test")


def run_devserve(*args: str, code: str = "") -> subprocess.Popen[str]:
    program = code + "import sys; from devserve.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", program, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def test_cli_tls_adhoc_prints_the_fingerprint_it_serves(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>hi")
    temporary = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("devserve-tls-*"))
    proc = run_devserve("0", "-b", "127.0.0.1", "-d", str(tmp_path), "--tls", "adhoc")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        banner = proc.stdout.readline()
        printed = FINGERPRINT.search(first)
        assert printed, first
        assert "localhost, 127.0.0.1, ::1" in first
        port = int(re.search(r"https://127\.0\.0\.1:(\d+)/", banner)[1])  # type: ignore[index]
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        der, answer = fetch(port, unverified, "localhost")
        assert colon_hex(der) == printed[1]
        # The certificate the server sent, trusted as it is, verifies for localhost.
        pinned = ssl.create_default_context(cadata=ssl.DER_cert_to_PEM_cert(der))
        _der, answer = fetch(port, pinned, "localhost")
        assert answer.startswith(b"HTTP/1.1 200 ")
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=CLIENT_TIMEOUT)
    assert proc.returncode == 0, err
    # The key and certificate went with the process.
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("devserve-tls-*")) == temporary


def test_cli_tls_adhoc_without_cryptography_is_one_line(tmp_path: Path) -> None:
    hide = "import sys; sys.modules['cryptography'] = None; "
    proc = run_devserve("0", "-d", str(tmp_path), "--tls", "adhoc", code=hide)
    _out, err = proc.communicate(timeout=CLIENT_TIMEOUT)
    assert proc.returncode == 2
    assert err.strip() == (
        "devserve: error: --tls adhoc needs the 'cryptography' package to make a "
        "certificate: pip install 'devserve[tls]' (or pass --tls-cert/--tls-key)"
    )


def test_cli_tls_adhoc_with_a_certificate_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_devserve("--tls", "adhoc", "--tls-cert", str(tmp_path / "c.pem"))
    _out, err = proc.communicate(timeout=CLIENT_TIMEOUT)
    assert proc.returncode == 2
    assert "cannot be combined with --tls-cert" in err
    assert "Traceback" not in err
