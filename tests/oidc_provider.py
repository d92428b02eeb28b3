"""A small OpenID Connect provider for the tests, on loopback: discovery, an authorize
endpoint that signs the user in at once and redirects back with a code, a token endpoint
that checks the client, the code and PKCE and answers an id_token signed RS256, a JWKS
endpoint and userinfo. Never a service on the internet."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "panel-test-client"
CLIENT_SECRET = "panel-test-secret"


@dataclass
class Provider:
    url: str = ""
    # The person who signs in at the provider (the tests set it before a login).
    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "user-1",
            "email": "sam@corp.example",
            "email_verified": True,
            "preferred_username": "sam",
            "name": "Sam Corp",
        }
    )
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _json(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._json(
                    {
                        "issuer": provider.url,
                        "authorization_endpoint": f"{provider.url}/authorize",
                        "token_endpoint": f"{provider.url}/token",
                        "userinfo_endpoint": f"{provider.url}/userinfo",
                        "jwks_uri": f"{provider.url}/jwks",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                )
            elif parts.path == "/authorize":
                if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                    self._json({"error": "invalid_request"}, 400)
                    return
                code = secrets.token_urlsafe(16)
                provider.codes[code] = query
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urlencode({"code": code, "state": query.get("state", "")})
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
            elif parts.path == "/jwks":
                jwk = json.loads(RSAAlgorithm.to_jwk(provider.key.public_key()))
                self._json({"keys": [{**jwk, "kid": "test-key", "alg": "RS256", "use": "sig"}]})
            elif parts.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if token not in provider.tokens:
                    self._json({"error": "invalid_token"}, 401)
                    return
                self._json(provider.tokens[token])
            else:
                self._json({"error": "not_found"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.token_requests += 1
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
                self._json({"error": "invalid_client"}, 401)
                return
            request = provider.codes.pop(form.get("code", ""), None)
            if request is None or form.get("redirect_uri") != request["redirect_uri"]:
                self._json({"error": "invalid_grant"}, 400)
                return
            if "code_challenge" in request:
                verifier = form.get("code_verifier", "").encode()
                digest = hashlib.sha256(verifier).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if challenge != request["code_challenge"]:
                    self._json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
                    return
            now = int(time.time())
            claims = {
                **provider.user,
                "iss": provider.url,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
            }
            if "nonce" in request:
                claims["nonce"] = request["nonce"]
            id_token = jwt.encode(
                claims, provider.key, algorithm="RS256", headers={"kid": "test-key"}
            )
            access = secrets.token_urlsafe(16)
            provider.tokens[access] = dict(provider.user)
            self._json(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                }
            )

    return Handler


@contextmanager
def running_provider() -> Iterator[Provider]:
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
