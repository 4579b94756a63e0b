"""The TLS side of the network seam: an sslyze scan and a verifying handshake of one origin.

`scan_tls` runs only the sslyze scan commands a scan needs (certificate info and, for the
vendor's own origins, the cipher suites of each SSL/TLS version) against the address the
project's resolver found, with the host name as SNI, so `--nameserver` holds. A legacy version
that one all-suites handshake shows refused is not scanned suite by suite: that saves some 250
connections per modern origin. The chain is then
verified by a real handshake with Python's `ssl` against the system store plus the user's CA
file. Both block on the network: call `scan_tls` from a worker thread, never the event loop.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from traceback import TracebackException
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from nassl.ssl_client import ClientCertificateRequested
from sslyze.errors import (
    ConnectionToServerFailed,
    ServerRejectedTlsHandshake,
    ServerTlsConfigurationNotSupported,
    TlsHandshakeTimedOut,
)
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import (
    TrustStoresRepository,
)
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ScanCommandsExtraArguments,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.scanner.scanner import Scanner
from sslyze.server_connectivity import (
    ServerConnectivityInfo,
    TlsVersionEnum,
    check_connectivity_to_server,
)
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from connectguard.net.contexts import accept_legacy
from connectguard.probes.transport_evidence import (
    CertificateFacts,
    OriginRole,
    ProtocolSupport,
    TlsEvidence,
)

log = logging.getLogger(__name__)

PROTOCOL_COMMANDS: tuple[tuple[str, ScanCommand], ...] = (
    ("SSL 2.0", ScanCommand.SSL_2_0_CIPHER_SUITES),
    ("SSL 3.0", ScanCommand.SSL_3_0_CIPHER_SUITES),
    ("TLS 1.0", ScanCommand.TLS_1_0_CIPHER_SUITES),
    ("TLS 1.1", ScanCommand.TLS_1_1_CIPHER_SUITES),
    ("TLS 1.2", ScanCommand.TLS_1_2_CIPHER_SUITES),
    ("TLS 1.3", ScanCommand.TLS_1_3_CIPHER_SUITES),
)
LEGACY_VERSIONS: tuple[tuple[str, TlsVersionEnum], ...] = (
    ("SSL 2.0", TlsVersionEnum.SSL_2_0),
    ("SSL 3.0", TlsVersionEnum.SSL_3_0),
    ("TLS 1.0", TlsVersionEnum.TLS_1_0),
    ("TLS 1.1", TlsVersionEnum.TLS_1_1),
)
CONNECTIONS_PER_ORIGIN = 8
_trust_stores_lock = threading.Lock()


@dataclass(frozen=True)
class TlsTarget:
    """One origin to scan: the name it is known by, the address to connect to, and its role."""

    host: str
    port: int
    address: str
    role: OriginRole

    @property
    def probe_protocols(self) -> bool:
        """Protocol versions are probed on the vendor's origins only, not on third parties."""
        return self.role is not OriginRole.EXTERNAL


def prepare_tls() -> None:
    """Load sslyze's bundled trust stores once, before any worker thread needs them.

    sslyze loads them lazily and not thread-safely, and one of its bundled roots makes
    `cryptography` warn; both are settled here, once per process.
    """
    with _trust_stores_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        TrustStoresRepository.get_default()


def verifying_context(ca_file: str | None) -> ssl.SSLContext:
    """The system store plus `ca_file`, every protocol version, and legacy ciphers allowed.

    Old versions and weak keys must not stop the handshake: requirement 1 judges versions and
    the certificate check reports weak keys as advice; this context judges only the chain.
    """
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return accept_legacy(context)


def scan_tls(target: TlsTarget, ca_file: str | None, network_timeout: float) -> TlsEvidence:
    """Scan one origin; every failure is recorded in the evidence, none is raised."""
    started = time.monotonic()
    location, network = _location(target, network_timeout)
    try:
        refused = _refused_legacy_versions(target, location, network)
        result = _run_sslyze(target, location, network, ca_file, refused)
    except ConnectionToServerFailed as exc:
        return _evidence(target, started, error=f"no TLS handshake: {exc.error_message}")
    except Exception as exc:  # sslyze must never end the scan
        log.warning("sslyze failed on %s:%s: %s", target.host, target.port, exc)
        return _evidence(target, started, error=f"the TLS scan failed: {_one_line(exc)}")
    if result.scan_status is not ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        return _evidence(target, started, error=_connectivity_error(result))

    attempts = result.scan_result
    protocols: tuple[ProtocolSupport, ...] = ()
    if target.probe_protocols:
        protocols = tuple(
            ProtocolSupport(name, False)
            if name in refused
            else _protocol(name, getattr(attempts, command.value))
            for name, command in PROTOCOL_COMMANDS
        )
    chain, chain_error = _chain(attempts.certificate_info)
    if not chain:
        return _evidence(target, started, protocols=protocols, verify_error=chain_error)
    verified, verify_error = verify_certificate(target, ca_file, network_timeout)
    return _evidence(
        target,
        started,
        protocols=protocols,
        chain=chain,
        chain_has_root=len(chain) > 1 and chain[-1].self_issued,
        verified=verified,
        verify_error=verify_error,
    )


def verify_certificate(
    target: TlsTarget, ca_file: str | None, timeout: float
) -> tuple[bool | None, str | None]:
    """A real handshake that verifies the chain and the name: (verified, why not).

    `verified` is None when the handshake failed for another reason than the certificate.
    """
    try:
        context = verifying_context(ca_file)
        with (
            socket.create_connection((target.address, target.port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=target.host.strip("[]")),
        ):
            return True, None
    except ssl.SSLCertVerificationError as exc:
        return False, exc.verify_message or _one_line(exc)
    except (ssl.SSLError, OSError, ValueError) as exc:
        return None, f"the verifying handshake failed: {_one_line(exc)}"


def _location(
    target: TlsTarget, network_timeout: float
) -> tuple[ServerNetworkLocation, ServerNetworkConfiguration]:
    name = target.host.strip("[]")
    location = ServerNetworkLocation(hostname=name, port=target.port, ip_address=target.address)
    network = ServerNetworkConfiguration(
        tls_server_name_indication=name,
        network_timeout=max(1, round(network_timeout)),
        network_max_retries=1,
    )
    return location, network


def _refused_legacy_versions(
    target: TlsTarget, location: ServerNetworkLocation, network: ServerNetworkConfiguration
) -> frozenset[str]:
    """The legacy versions the origin refuses outright, each learnt from one handshake that
    offers every cipher suite, so that their suite-by-suite scans need not run.

    Raise sslyze's `ConnectionToServerFailed` when no TLS handshake succeeds at all.
    """
    probing = check_connectivity_to_server(location, network)
    if not target.probe_protocols:
        return frozenset()
    server = ServerConnectivityInfo(location, network, probing)
    return frozenset(
        name for name, version in LEGACY_VERSIONS if _accepts(server, version) is False
    )


def _accepts(server: ServerConnectivityInfo, version: TlsVersionEnum) -> bool | None:
    """One handshake at `version` offering every suite: accepted, refused, or None (unsure)."""
    try:
        connection = server.get_preconfigured_tls_connection(
            override_tls_version=version, should_use_legacy_openssl=True
        )
        connection.ssl_client.set_cipher_list("ALL:COMPLEMENTOFALL")
    except Exception:  # an OpenSSL build without this version: let the full scan say
        return None
    try:
        connection.connect()
    except (ServerTlsConfigurationNotSupported, ClientCertificateRequested):
        return True  # the handshake went far enough to show the version is spoken
    except (ServerRejectedTlsHandshake, TlsHandshakeTimedOut):
        return False
    except Exception:  # a network error: not a verdict, the full scan decides
        return None
    finally:
        connection.close()
    return True


def _run_sslyze(
    target: TlsTarget,
    location: ServerNetworkLocation,
    network: ServerNetworkConfiguration,
    ca_file: str | None,
    refused: frozenset[str],
) -> ServerScanResult:
    commands = {ScanCommand.CERTIFICATE_INFO}
    if target.probe_protocols:
        commands.update(command for name, command in PROTOCOL_COMMANDS if name not in refused)
    extra = ScanCommandsExtraArguments()
    if ca_file:
        extra = ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file))
        )
    request = ServerScanRequest(
        server_location=location,
        network_configuration=network,
        scan_commands=commands,
        scan_commands_extra_arguments=extra,
    )
    scanner = Scanner(
        per_server_concurrent_connections_limit=CONNECTIONS_PER_ORIGIN,
        concurrent_server_scans_limit=1,
    )
    scanner.queue_scans([request])
    # Drain the generator: sslyze joins its threads only once it is exhausted.
    (result,) = scanner.get_results()
    return result


def _evidence(target: TlsTarget, started: float, **fields: Any) -> TlsEvidence:
    return TlsEvidence(
        host=target.host,
        port=target.port,
        role=target.role,
        address=target.address,
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        **fields,
    )


def _connectivity_error(result: ServerScanResult) -> str:
    trace = result.connectivity_error_trace
    if trace is None:
        return "the TLS scan could not connect"
    message = str(trace)
    # sslyze says 'host:port -> "message".': keep the message.
    if ' -> "' in message:
        message = message.split(' -> "', 1)[1].rstrip('".')
    return f"no TLS handshake: {message}"


def _protocol(name: str, attempt: Any) -> ProtocolSupport:
    if attempt.status is not ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
        reason = attempt.error_reason.value.lower() if attempt.error_reason else "not run"
        detail = _trace_line(attempt.error_trace)
        return ProtocolSupport(name, None, error=f"{reason}: {detail}" if detail else reason)
    suites = tuple(s.cipher_suite.name for s in attempt.result.accepted_cipher_suites)
    return ProtocolSupport(name, bool(suites), cipher_suites=suites)


def _chain(attempt: Any) -> tuple[tuple[CertificateFacts, ...], str | None]:
    if attempt.status is not ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
        return (), f"the certificate could not be read: {_trace_line(attempt.error_trace)}"
    deployments = attempt.result.certificate_deployments
    if not deployments or not deployments[0].received_certificate_chain:
        return (), "the server sent no certificate"
    return tuple(_facts(cert) for cert in deployments[0].received_certificate_chain), None


def _facts(cert: x509.Certificate) -> CertificateFacts:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(str(name.value) for name in san)
    except (x509.ExtensionNotFound, ValueError):
        sans = ()
    key_type, key_bits = _key(cert)
    try:
        algorithm = cert.signature_hash_algorithm
        signature_hash = algorithm.name if algorithm is not None else None
    except Exception:  # an algorithm cryptography cannot name
        signature_hash = "unknown"
    return CertificateFacts(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        sans=sans,
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        key_type=key_type,
        key_bits=key_bits,
        signature_hash=signature_hash,
        self_issued=cert.subject == cert.issuer,
    )


def _key(cert: x509.Certificate) -> tuple[str, int]:
    try:
        key = cert.public_key()
    except Exception:  # a key type cryptography cannot load
        return "unknown", 0
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, 0


def _name(name: x509.Name) -> str:
    try:
        values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else name.rfc4514_string()
    except ValueError:
        return "unreadable name"


def _trace_line(trace: TracebackException | None) -> str:
    return _one_line(str(trace)) if trace is not None else ""


def _one_line(value: object) -> str:
    text = str(value).strip() or type(value).__name__
    return text.splitlines()[0][:300]
