"""The client's total deadline per call, against a real local server that drips.

requests' read timeout bounds each socket read; an upstream that sends a byte every
0.2 s never trips a 1 s read timeout. These tests check that every call ends at its
deadline anyway (a single call: the timeout T; a list with all its pages: 2 x T),
whether the status line and headers or the body are dripped.
"""

from __future__ import annotations

import datetime
import logging
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from servers.api import maybe_applied
from servers.client import DeadlineExceeded, Unavailable, VPSOrgClient, request_sent
from tests.local_upstream import Answer, Request, client_threads, local_upstream, wait_until
from tests.vpsorg_docs import DETAIL_EXAMPLE, LIST_EXAMPLE, action_example

TOKEN = "vps_drip-T0KEN-never-in-a-message-77"
T = 1.0
# Measured here: the cut comes within a few ms of the deadline; the slack covers a busy
# shared machine, not the mechanism.
SLACK = 0.5


def _server(n: int) -> dict[str, Any]:
    return {"id": n, "name": f"s-{n}", "status": "active"}


def _timed(call: Callable[[], Any]) -> tuple[BaseException | None, float, Any]:
    started = time.monotonic()
    try:
        result = call()
    except Exception as exc:  # returned for the test to look at
        return exc, time.monotonic() - started, None
    return None, time.monotonic() - started, result


@pytest.mark.parametrize("how", ["headers", "body"])
def test_get_server_ends_at_the_deadline(how: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="servers.client")
    drip = Answer(body=DETAIL_EXAMPLE, how=how, interval=0.2)
    with local_upstream(lambda request: drip) as upstream:
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=T)
        error, took, _ = _timed(lambda: client.get_server(12345))
        client.close()
    assert isinstance(error, Unavailable)
    assert error.message == "The VPS.org API did not answer in time."
    assert isinstance(error.__cause__, DeadlineExceeded)
    assert T - 0.05 <= took < T + SLACK
    # A GET cut at its deadline is not retried: there is no time left for it.
    assert len(upstream.requests) == 1
    assert TOKEN not in caplog.text and TOKEN not in str(error) and TOKEN not in repr(error)


@pytest.mark.parametrize("how", ["headers", "body"])
def test_list_with_several_pages_ends_at_the_list_budget(how: str) -> None:
    # Page 1 and 2 answer at once, page 3 drips: the whole list gets 2 x T.
    def route(request: Request) -> Answer:
        page = int(request.query.get("page", ["1"])[0])
        body = {
            "count": 5,
            "next": f"/api/v1/servers/?page={page + 1}&page_size=2" if page < 3 else None,
            "results": [_server(2 * page - 1), _server(2 * page)][: 5 - 2 * (page - 1)],
        }
        return Answer(body=body, how=how if page == 3 else "whole", interval=0.2)

    with local_upstream(route) as upstream:
        for concurrency in (1, 4):
            client = VPSOrgClient(
                TOKEN, base_url=upstream.url, timeout=T, list_concurrency=concurrency
            )
            error, took, _ = _timed(client.list_servers)
            client.close()
            assert isinstance(error, Unavailable), concurrency
            assert "did not answer in time" in error.message
            assert 2 * T - 0.05 <= took < 2 * T + SLACK, concurrency


@pytest.mark.parametrize("how", ["headers", "body"])
def test_a_write_cut_at_the_deadline_may_have_been_applied(how: str) -> None:
    drip = Answer(status=200, body=action_example("rebooting", "rebooting"), how=how)
    with local_upstream(lambda request: drip) as upstream:
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=T)
        error, took, _ = _timed(lambda: client.reboot_server(12345))
        create_error, create_took, _ = _timed(
            lambda: client.create_server(name="a", plan_id=1, os_id=5, location="us-west")
        )
        client.close()
    for failure, seconds in ((error, took), (create_error, create_took)):
        assert isinstance(failure, Unavailable)
        assert "may or may not have been applied" in failure.message
        # What the views read to decide not to resend and to ask the user to check.
        assert isinstance(failure.__cause__, requests.exceptions.ReadTimeout)
        assert maybe_applied(failure)
        assert T - 0.05 <= seconds < T + SLACK
    assert [r.method for r in upstream.requests] == ["POST", "POST"]  # never retried


def test_steady_answer_inside_the_deadline_succeeds() -> None:
    # 0.6 s in all, a piece every 0.12 s: slow, but done before T.
    def route(request: Request) -> Answer:
        body = LIST_EXAMPLE if request.path == "/api/v1/servers/" else DETAIL_EXAMPLE
        return Answer(body=body, how="steady", interval=0.12, pieces=5)

    with local_upstream(route) as upstream:
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=T)
        list_error, list_took, servers = _timed(client.list_servers)
        detail_error, detail_took, server = _timed(lambda: client.get_server(12345))
        client.close()
    assert list_error is None and detail_error is None
    assert [s.id for s in servers] == ["12345", "12346"]
    assert server.name == DETAIL_EXAMPLE["name"]
    assert 0.5 <= list_took < T and 0.5 <= detail_took < T


def test_no_thread_is_left_behind_and_connections_are_reused() -> None:
    before = client_threads()
    with local_upstream(lambda request: Answer(body=DETAIL_EXAMPLE)) as upstream:
        session = requests.Session()
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=T, session=session)
        for _ in range(5):
            client.get_server(12345)
        assert upstream.connections == 1  # keep-alive: one connection for five calls
        session.close()
    assert wait_until(lambda: client_threads() <= before)


def test_a_response_read_outside_a_call_has_no_deadline() -> None:
    # The adapter is mounted on a session the views share; only client calls are bounded.
    steady = Answer(body=LIST_EXAMPLE, how="steady", interval=0.3, pieces=5)
    with local_upstream(lambda request: steady) as upstream:
        session = requests.Session()
        VPSOrgClient(TOKEN, base_url=upstream.url, timeout=0.5, session=session)
        started = time.monotonic()
        response = session.get(upstream.url + "/servers/", timeout=1)
        took = time.monotonic() - started
        session.close()
    assert response.json() == LIST_EXAMPLE
    assert took >= 1.4


def test_threads_of_other_calls_are_not_affected() -> None:
    # The deadline lives in the calling thread: a call in another thread with a longer
    # timeout is not cut by this one's.
    steady = Answer(body=DETAIL_EXAMPLE, how="steady", interval=0.25, pieces=5)
    results: dict[str, Any] = {}
    with local_upstream(lambda request: steady) as upstream:
        patient = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=3)
        hasty = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=0.5)

        def run(name: str, client: VPSOrgClient) -> None:
            results[name] = _timed(lambda: client.get_server(12345))

        threads = [
            threading.Thread(target=run, args=("patient", patient)),
            threading.Thread(target=run, args=("hasty", hasty)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert results["patient"][0] is None
    assert isinstance(results["hasty"][0], Unavailable)
    assert results["hasty"][1] < 0.5 + SLACK


@pytest.fixture
def tls_server(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a throwaway self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("how", ["headers", "body"])
def test_the_deadline_holds_over_tls(tls_server: ssl.SSLContext, how: str) -> None:
    # The real API is https: TLS reads go through the same clamped socket timeout.
    def route(request: Request) -> Answer:
        slow = request.path.endswith("/12345/")
        return Answer(body=DETAIL_EXAMPLE, how=how if slow else "whole", interval=0.2)

    with local_upstream(route, tls=tls_server) as upstream:
        session = requests.Session()
        # What is tested is the deadline, not certificate checks; the environment's CA
        # bundle variables would otherwise override verify=False.
        session.verify = False
        session.trust_env = False
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=T, session=session)
        assert client.get_server(1).name == DETAIL_EXAMPLE["name"]
        error, took, _ = _timed(lambda: client.get_server(12345))
        session.close()
    assert upstream.url.startswith("https://")
    assert isinstance(error, Unavailable) and isinstance(error.__cause__, DeadlineExceeded)
    assert T - 0.05 <= took < T + SLACK


def test_a_call_says_its_request_left_before_it_awaits_the_answer() -> None:
    # The answer waits for the client's word that the request was written: a word given
    # only once the answer had come would never come at all.
    sent = threading.Event()
    heard: list[bool] = []

    def route(request: Request) -> Answer:
        heard.append(sent.wait(5))
        return Answer(body=DETAIL_EXAMPLE)

    with local_upstream(route) as upstream:
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=T)
        token = request_sent.set(sent)
        try:
            server = client.get_server(12345)
        finally:
            request_sent.reset(token)
        client.close()
    assert heard == [True]
    assert server.name == DETAIL_EXAMPLE["name"]
