"""The Host allow-list against DNS rebinding (issue 18): a page on a rebinding domain has Origin = Host
= attacker.example:8000, which passes an Origin-equals-Host check; the Host itself is refused, on HTTP
(403) and on sockets (the handshake is refused), in-process and against a real uvicorn."""

from __future__ import annotations

import socket

import pytest
from starlette.websockets import WebSocketDisconnect

from server_helpers import app_settings, serve_in_thread
from unrolled.server import cli
from unrolled.server.app import create_app
from unrolled.server.security import host_name
from unrolled.server.settings import Settings

ATTACKER = {"host": "attacker.example:8000", "origin": "http://attacker.example:8000"}


def test_a_rebinding_host_is_refused_on_http_with_a_403_naming_the_way_out(client):
    for path in ("/", "/healthz", "/api/presets"):
        response = client.get(path, headers=ATTACKER)
        assert response.status_code == 403, path
        assert "attacker.example" in response.json()["detail"] and "--allow-host" in response.json()["detail"]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.post("/api/trace", json={"seq_len": 3}, headers=ATTACKER).status_code == 403


def test_a_rebinding_host_is_refused_on_both_sockets(client):
    for path in ("/ws/trace", "/ws/train"):
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect(path, headers=ATTACKER):
                pass
        assert refused.value.code == 1008


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LocalHost.:8000", "localhost"])
def test_the_local_names_are_accepted(client, host):
    assert client.get("/healthz", headers={"host": host}).status_code == 200
    with client.websocket_connect("/ws/trace", headers={"host": host, "origin": f"http://{host}"}) as ws:
        ws.send_json({"type": "nope"})
        assert ws.receive_json()["type"] == "error"


def test_allowed_hosts_adds_names_and_a_wildcard_bind_accepts_ip_addresses(make_client):
    named = make_client(allowed_hosts=("unrolled.lan",))
    assert named.get("/healthz", headers={"host": "unrolled.lan:8000"}).status_code == 200
    assert named.get("/healthz", headers={"host": "192.168.1.7:8000"}).status_code == 403
    everywhere = make_client(allowed_hosts=("0.0.0.0",))
    assert everywhere.get("/healthz", headers={"host": "192.168.1.7:8000"}).status_code == 200
    assert everywhere.get("/healthz", headers={"host": "[fe80::1]:8000"}).status_code == 200
    assert everywhere.get("/healthz", headers=ATTACKER).status_code == 403


def test_host_name_strips_port_brackets_case_and_the_trailing_dot():
    assert [host_name(h) for h in ["Example.ORG:80", "[::1]:8000", "::1", "localhost.", "10.0.0.1"]] == [
        "example.org", "::1", "::1", "localhost", "10.0.0.1"]


def test_the_cli_allows_the_bound_host_and_each_allow_host(monkeypatch):
    monkeypatch.setenv("UNROLLED_ALLOWED_HOSTS", "")  # restored (unset) after the test
    args = cli._parser().parse_args(["serve", "--host", "0.0.0.0", "--allow-host", "a.lan", "--allow-host", "b.lan"])
    assert args.allow_host == ["a.lan", "b.lan"]
    settings = cli.allow_hosts(Settings(), args.host, args.allow_host)
    assert settings.allowed_hosts == ("0.0.0.0", "a.lan", "b.lan")
    # `serve`'s worker processes build their app from the environment
    assert Settings.from_env().allowed_hosts == ("0.0.0.0", "a.lan", "b.lan")


def raw_request(base: str, request: str) -> str:
    """The status line a real server answers ``request`` with."""
    host, port = base.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request.encode())
        return conn.makefile("rb").readline().decode().strip()


def handshake(path: str, host: str) -> str:
    """A WebSocket opening handshake from a page served under ``host``."""
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def test_a_real_server_refuses_the_rebinding_host_and_serves_its_own(template_dir):
    app = create_app(app_settings(allowed_hosts=()), templates_dir=template_dir)
    with serve_in_thread(app) as server:
        attacker = "attacker.example:8000"
        assert raw_request(server.base, f"GET /healthz HTTP/1.1\r\nHost: {attacker}\r\n"
                                        f"Origin: http://{attacker}\r\nConnection: close\r\n\r\n").split()[1] == "403"
        assert raw_request(server.base, handshake("/ws/trace", attacker)).split()[1] == "403"
        assert raw_request(server.base, f"GET /healthz HTTP/1.1\r\nHost: {server.base}\r\n"
                                        "Connection: close\r\n\r\n").split()[1] == "200"
        assert raw_request(server.base, handshake("/ws/trace", server.base)).split()[1] == "101"
