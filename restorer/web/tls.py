"""HTTPS for the wizard (and the backup UI): the user's certificate, or a self-signed one
made on start, and its SHA-256 fingerprint for the user to compare in the browser.

A self-signed certificate is made with ``cryptography`` when this Python has it, else
with the ``openssl`` command. Its private key lives only in a private temporary folder
until it is loaded, then it is deleted: a restarted server makes a new one.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

from restorer.errors import SitepackError

LOOPBACK_ONLY = ("127.0.0.1", "localhost", "::1")
_DAYS = 30


def is_loopback_only(host: str) -> bool:
    """Only this machine can connect (``127.0.0.1``, ``localhost``, ``::1``)."""
    return host in LOOPBACK_ONLY


def fingerprint(cert_pem: bytes) -> str:
    """The SHA-256 fingerprint of a PEM certificate as browsers show it (AB:CD:…)."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def fingerprint_line(cert_fingerprint: str) -> str:
    """What the server prints on its terminal for the user to compare with the browser's."""
    return (f"HTTPS certificate SHA-256 fingerprint: {cert_fingerprint} (check that your browser "
            f"shows this one before you type a password)")


def _names(host: str) -> list[str]:
    return sorted({host, "localhost", "127.0.0.1"} - {"", "0.0.0.0", "::"})


def _self_signed_with_cryptography(host: str, cert: Path, key: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sitepack restore wizard")])
    alt = []
    for entry in _names(host):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            alt.append(x509.DNSName(entry))
    now = datetime.datetime.now(datetime.timezone.utc)
    built = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(private.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=_DAYS))
             .add_extension(x509.SubjectAlternativeName(alt), critical=False)
             .sign(private, hashes.SHA256()))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))


def _self_signed_with_openssl(host: str, cert: Path, key: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SitepackError("cannot make an HTTPS certificate: this host has neither the Python package "
                            "'cryptography' nor the openssl command; give one with --cert FILE --key FILE")
    alt = ",".join(("IP:" if _is_ip(n) else "DNS:") + n for n in _names(host))
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", str(_DAYS), "-subj", "/CN=sitepack restore wizard",
                    "-addext", f"subjectAltName={alt}", "-keyout", str(key), "-out", str(cert)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def server_context(host: str, cert: Path | None = None, key: Path | None = None) -> tuple[ssl.SSLContext, str]:
    """A TLS server context and its certificate's fingerprint: ``cert``/``key`` when given,
    else a self-signed certificate for ``host`` made now."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        try:
            context.load_cert_chain(cert, key)
            return context, fingerprint(Path(cert).read_bytes())
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise SitepackError(f"cannot use the certificate {cert} with key {key}: {exc}; give a PEM "
                                f"certificate and its private key") from None
    with tempfile.TemporaryDirectory(prefix="sitepack-tls-") as folder:
        os.chmod(folder, 0o700)
        made_cert, made_key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        try:
            _self_signed_with_cryptography(host, made_cert, made_key)
        except ImportError:
            _self_signed_with_openssl(host, made_cert, made_key)
        context.load_cert_chain(made_cert, made_key)
        return context, fingerprint(made_cert.read_bytes())


def listen_context(host: str, *, cert: Path | None, key: Path | None,
                   insecure_http: bool) -> tuple[ssl.SSLContext | None, str | None]:
    """The TLS context for listening on ``host`` (``None``: plain HTTP) and its fingerprint.

    HTTPS with ``cert``/``key`` when given; beyond loopback always HTTPS (self-signed when no
    certificate is given), because passwords would otherwise cross the network in clear,
    unless the user said ``insecure_http``.
    """
    if (cert is None) != (key is None):
        raise SitepackError("give both --cert FILE and --key FILE (PEM), or neither")
    if cert is None and (is_loopback_only(host) or insecure_http):
        return None, None
    if insecure_http:
        raise SitepackError("--insecure-http and --cert/--key contradict each other: choose one")
    return server_context(host, cert, key)
