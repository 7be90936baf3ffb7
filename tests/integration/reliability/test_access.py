"""Access: loopback binding everywhere, and how MONAI Label 0.8.5's own authentication and CORS settings behave.

The last two pin MONAI Label's behaviour, so that an upgrade that changes it shows here (and in docs/operations.md,
"Access: loopback, authentication, CORS", which builds on it): authentication refuses every token, and restricting CORS
origins by its setting stops the server from starting. A reverse proxy is the way to do both (docs/operations.md).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lib.tools import demo_data
from lib.tools.server_process import ROOT, ServerProcess, copy_app, listening_addresses

from .conftest import HardenedServer

ROLES = ["monailabel-admin", "monailabel-reviewer", "monailabel-annotator", "monailabel-user"]


def test_the_server_listens_on_loopback_only(hardened_server: HardenedServer) -> None:
    listening = listening_addresses(hardened_server.process.process.pid)
    assert any(address.port == hardened_server.process.port for address in listening)
    assert {address.ip for address in listening} == {"127.0.0.1"}


def _scripts_that_start_a_server() -> list[Path]:
    candidates = [*ROOT.glob("sample-apps/**/*.sh"), *ROOT.glob("sample-apps/**/*.py"), *ROOT.glob("benchmarks/*.py")]
    candidates.append(ROOT / "lib" / "tools" / "server_process.py")
    return [p for p in candidates if "start_server" in p.read_text()]


def test_every_script_that_starts_a_server_binds_it_to_loopback_by_default() -> None:
    scripts = _scripts_that_start_a_server()
    assert {p.name for p in scripts} >= {"run_demo.sh", "server_process.py"}
    for script in scripts:
        text = script.read_text()
        # MONAI Label's own default is 0.0.0.0 (every interface): each script must name the host itself.
        assert re.search(r'--host["\s,]+\S*127\.0\.0\.1', text), f"{script} starts a server without --host 127.0.0.1"
        assert "0.0.0.0" not in text, script


class _Realm(BaseHTTPRequestHandler):
    """The one thing MONAI Label asks an OpenID realm for when it checks a token: the realm's public key."""

    public_key = ""

    def do_GET(self) -> None:
        body = json.dumps({"public_key": self.public_key}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def realm(private_key: rsa.RSAPrivateKey) -> Iterator[str]:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _Realm.public_key = base64.b64encode(der).decode()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Realm)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http.server_address[1]}/realms/monailabel"
    http.shutdown()


def _small_server(root: Path, env: dict[str, str], ready_path: str = "/info/") -> ServerProcess:
    app_dir = copy_app(root / "app")
    demo_data.generate(root / "data", num=1, labeled=0, seed=3, shape=(32, 32, 24))
    return ServerProcess(
        app_dir, root / "data", {"width": "4"}, log=root / "server.log", env=env, ready_path=ready_path
    )


@pytest.fixture(scope="module")
def auth_server(realm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"MONAI_LABEL_AUTH_ENABLE": "true", "MONAI_LABEL_AUTH_REALM_URI": realm}
    server = _small_server(tmp_path_factory.mktemp("auth"), env, ready_path="/auth/")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_with_authentication_on_a_request_without_a_token_is_refused(auth_server: ServerProcess) -> None:
    assert requests.get(f"{auth_server.url}/auth/", timeout=30).json()["enabled"] is True
    response = requests.get(f"{auth_server.url}/info/", timeout=30)
    assert response.status_code == 401


def test_with_authentication_on_even_a_valid_token_is_refused(auth_server, private_key) -> None:
    """MONAI Label 0.8.5 calls PyJWT's ``decode`` without ``algorithms``, which PyJWT 2 refuses for every token: its
    authentication fails closed. A correctly signed, unexpired token with every role still gets 401."""
    claims = {"preferred_username": "annotator", "realm_access": {"roles": ROLES}, "exp": int(time.time()) + 600}
    token = jwt.encode(claims, private_key, algorithm="RS256")
    response = requests.get(f"{auth_server.url}/info/", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 401
    assert response.json()["detail"] == "Could not validate credentials"


def test_restricting_cors_origins_by_setting_stops_the_server_from_starting(tmp_path: Path) -> None:
    """``MONAI_LABEL_CORS_ORIGINS`` is parsed into URL objects that the launcher then fails to log as JSON."""
    server = _small_server(tmp_path, {"MONAI_LABEL_CORS_ORIGINS": '["http://127.0.0.1:3000"]'})
    with pytest.raises(RuntimeError, match="server exited"):
        server.start(timeout=120)
    assert "is not JSON serializable" in server.log_tail()
