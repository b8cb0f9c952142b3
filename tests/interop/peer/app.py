"""A small in-memory OCPI 2.2.1 peer built on the extrawest-ocpi library (PyPI
``extrawest-ocpi``, import name ``py_ocpi``), for roambridge's interoperability tests and
benchmark. The OCPI routes, request validation, envelopes and authorization checks are the
library's own (``py_ocpi.get_application``); this application supplies what the library
leaves to its user: storage and business logic (``store.PeerCrud``), the token lists
(``store.make_authenticator``), the client side of OCPI (registering with a partner,
sending commands: ``control.py``) and a control API for tests (``/control/...``).

Roles: eMSP (locations, sessions, cdrs, tariffs RECEIVER; tokens SENDER with real-time
authorization; commands SENDER, results received at ``/ocpi/emsp/2.2.1/commands/{uid}``)
and CPO (locations, sessions, cdrs, tariffs SENDER with pagination; tokens RECEIVER;
commands RECEIVER), both under one versions endpoint, as the library mounts them.

Usage::

    python app.py PORT [--country-code NL] [--party-id XWP] [--roles cpo,emsp]
                       [--token-a TOKEN] [--seed-locations N] [--verbose]

Listens on 127.0.0.1:PORT (0 picks a free port) and prints the port as the first line on
stdout once the socket listens and the application is built; logs go to stderr. The
library reads its settings (host, scheme, party) from the environment at import time, so
they are set here before ``py_ocpi`` is imported.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

HOST = "127.0.0.1"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--country-code", default="NL")
    parser.add_argument("--party-id", default="XWP")
    parser.add_argument("--roles", default="cpo,emsp", help="comma-separated: cpo, emsp")
    parser.add_argument("--token-a", action="append", default=[], help="a token A to accept (repeatable)")
    parser.add_argument("--seed-locations", type=int, default=0, help="own CPO locations to generate")
    parser.add_argument("--verbose", action="store_true", help="library debug log and access log")
    return parser.parse_args(argv)


def configure_library(port: int, args: argparse.Namespace) -> None:
    """Environment for ``py_ocpi.core.config.Settings`` (read once, at import)."""
    os.environ["OCPI_HOST"] = f"{HOST}:{port}"
    os.environ["PROTOCOL"] = "http"
    os.environ["OCPI_PREFIX"] = "ocpi"
    os.environ["COUNTRY_CODE"] = args.country_code
    os.environ["PARTY_ID"] = args.party_id
    os.environ["ENVIRONMENT"] = "development" if args.verbose else "production"


class RequestLog:
    """ASGI middleware recording every OCPI request (not ``/control``) with its headers,
    body and response status, for tests that check what a partner sent."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/control"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        status: dict[str, int] = {}

        async def logged_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def logged_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, logged_receive, logged_send)
        finally:
            self.state.request_seq += 1
            headers: dict[str, str] = {}
            for name, value in scope.get("headers", []):
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            raw = b"".join(chunks)
            self.state.requests.append(
                {
                    "seq": self.state.request_seq,
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "headers": headers,
                    "body": raw[:65536].decode("utf-8", "replace"),
                    "status": status.get("code"),
                }
            )


def build_app(port: int, args: argparse.Namespace) -> Any:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from py_ocpi import get_application
    from py_ocpi.core.enums import ModuleID, RoleEnum
    from py_ocpi.modules.versions.enums import VersionNumber

    import control
    import store

    roles = [r.strip().upper() for r in args.roles.split(",") if r.strip()]
    unknown = set(roles) - {"CPO", "EMSP"}
    if unknown or not roles:
        raise SystemExit(f"--roles: unknown {sorted(unknown)}; use cpo and/or emsp")
    state = store.State(f"http://{HOST}:{port}", args.country_code, args.party_id, roles)
    state.token_a.extend(args.token_a)
    if args.seed_locations:
        state.seed_locations(args.seed_locations)

    app = get_application(
        version_numbers=[VersionNumber.v_2_2_1],
        roles=[RoleEnum(role) for role in roles],
        crud=store.PeerCrud(state),
        modules=[
            ModuleID.credentials_and_registration,
            ModuleID.locations,
            ModuleID.sessions,
            ModuleID.cdrs,
            ModuleID.tariffs,
            ModuleID.tokens,
            ModuleID.commands,
        ],
        authenticator=store.make_authenticator(state),
    )
    app.include_router(control.build_router(state))
    app.add_middleware(RequestLog, state=state)
    return app


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, args.port))
    listener.listen(1024)
    port = listener.getsockname()[1]
    configure_library(port, args)

    import uvicorn

    app = build_app(port, args)
    config = uvicorn.Config(
        app,
        log_level="info" if args.verbose else "warning",
        access_log=args.verbose,
        lifespan="off",
    )
    print(port, flush=True)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main(sys.argv[1:])
