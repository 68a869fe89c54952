"""Real local servers for the `webhook test` and `doctor` tests (127.0.0.1, port 0, stopped by the caller).

- `webhook(mode)`: an HTTP pre-call webhook; `mode` is "good", "500", "slow", "missing" (omits
  `order_id`), "echo" (puts the request's Authorization header in its answer) or "nested".
  Received requests are kept in `.requests` as (headers, body).
- `tcp_listener()`, `tls_listener(cert, key)`: accept and close (TLS: after the handshake).
- `closed_port()`: a port nothing listens on.
- `make_certs(dir)`: a test CA, a leaf for 127.0.0.1/localhost, one for `pbx.test` only, an
  expired leaf (both signed by the CA) and a self-signed leaf; PEM paths. Needs `cryptography`.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GOOD_VARIABLES = {"customer_name": "Ada", "account_status": "gold", "order_id": "ORD-1"}


@dataclass
class Webhook:
    url: str
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)


@contextmanager
def webhook(mode: str, slow_s: float = 3.0) -> Iterator[Webhook]:
    hook = Webhook("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            hook.requests.append(({k: v for k, v in self.headers.items()}, body))
            if mode == "500":
                self._answer(500, {"detail": "boom"})
                return
            if mode == "slow":
                time.sleep(slow_s)
            variables: dict[str, Any] = dict(GOOD_VARIABLES)
            if mode == "missing":
                del variables["order_id"]
            if mode == "echo":
                variables["seen"] = self.headers.get("Authorization", "")
            if mode == "nested":
                variables["orders"] = ["ORD-1", "ORD-2"]
            self._answer(200, {"type": "conversation_initiation_client_data", "dynamic_variables": variables})

        def _answer(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:  # the client gave up (the slow mode)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/pre-call"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def _listener(wrap: ssl.SSLContext | None) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            try:
                conn.settimeout(5)
                if wrap is not None:
                    with wrap.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)  # until the client closes
                conn.close()
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


@contextmanager
def tcp_listener() -> Iterator[int]:
    with _listener(None) as port:
        yield port


@contextmanager
def tls_listener(cert: Path, key: Path) -> Iterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with _listener(context) as port:
        yield port


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@dataclass(frozen=True)
class Certs:
    ca: Path
    good: tuple[Path, Path]  # 127.0.0.1 and localhost, signed by the CA
    other_name: tuple[Path, Path]  # pbx.test only, signed by the CA
    expired: tuple[Path, Path]  # 127.0.0.1, signed by the CA, expired yesterday
    self_signed: tuple[Path, Path]  # 127.0.0.1, its own issuer


def make_certs(directory: Path) -> Certs:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_path, key_path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("telephony test CA"))
        .issuer_name(name("telephony test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day)
        .not_valid_after(now + 30 * day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, _ = write("ca", ca_cert, ca_key)

    def leaf(stem: str, names: list[str], *, expired: bool = False, self_signed: bool = False) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for text in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(text)))
            except ValueError:
                alt.append(x509.DNSName(text))
        start, end = (now - 30 * day, now - day) if expired else (now - day, now + 60 * day)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(names[0]))
            .issuer_name(name(names[0]) if self_signed else ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        )
        return write(stem, builder.sign(key if self_signed else ca_key, hashes.SHA256()), key)

    return Certs(
        ca_path,
        leaf("good", ["127.0.0.1", "localhost"]),
        leaf("other", ["pbx.test"]),
        leaf("expired", ["127.0.0.1"], expired=True),
        leaf("selfsigned", ["127.0.0.1"], self_signed=True),
    )
