"""Control API of the interop peer (``/control/...``, no authentication, 127.0.0.1 only)
and the OCPI client calls the peer makes of its own accord.

extrawest-ocpi implements the server side of OCPI only; everything the peer *sends*
(registering with a partner, updating or deleting that registration, commands as eMSP,
arbitrary module calls) is written here with httpx, the HTTP client the library itself
uses. Outgoing requests follow OCPI 2.2.1 as written: ``Authorization: Token
<base64(token)>``, ``X-Request-ID``/``X-Correlation-ID`` on every request and the
``OCPI-from-*``/``OCPI-to-*`` routing headers on functional modules.

Every control answer is JSON. Calls to a partner answer HTTP 200 with what the partner
said (status, headers, body) whatever its HTTP status; they answer HTTP 502 only when the
partner could not be reached or a handshake step failed, HTTP 404 when there is no
partner or endpoint to call, and HTTP 400 for a malformed control request.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any, Optional

import httpx
from fastapi import APIRouter, Body
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from store import ADAPTERS, OWNER, Partner, State, new_token

#: Modules of the routing headers rule (ocpi-2.2.1.md section 1.4).
FUNCTIONAL = {"locations", "sessions", "cdrs", "tariffs", "tokens", "commands", "chargingprofiles"}

CALL_TIMEOUT = httpx.Timeout(15.0)


def encode_token(token: str) -> str:
    return base64.b64encode(token.encode("utf-8")).decode("ascii")


def join_url(base: str, *segments: str) -> str:
    """``base`` + ``/segment...`` with exactly one slash between parts (the library's own
    URLs end in a slash, OCPI's convention is none)."""
    url = base.rstrip("/")
    for segment in segments:
        if segment:
            url = f"{url}/{segment.strip('/')}"
    return url


def partner_role_for(module: str, interface_role: str) -> str:
    """Which of the partner's roles a call to its ``module`` endpoint addresses: the owner
    of the module's objects on a SENDER interface, the other side on a RECEIVER one
    (commands are received by the CPO, results by the eMSP)."""
    if module == "commands":
        return "CPO" if interface_role == "RECEIVER" else "EMSP"
    owner = OWNER.get(module, "CPO")
    if interface_role == "SENDER":
        return owner
    return "EMSP" if owner == "CPO" else "CPO"


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def trace(response: httpx.Response) -> dict:
    return {
        "method": response.request.method,
        "url": str(response.request.url),
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": body_of(response),
    }


def failed(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content=jsonable_encoder({"ok": False, "error": error, **extra}))


def envelope_data(body: Any) -> Any:
    """``data`` of an OCPI envelope; a one-element list (as extrawest-ocpi sends single
    objects) is unwrapped."""
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    if isinstance(data, list) and len(data) == 1:
        return data[0]
    return data


class OcpiClient:
    """Requests from the peer to one partner."""

    def __init__(self, state: State, partner: Partner, token: Optional[str] = None) -> None:
        self.state = state
        self.partner = partner
        self.token = token if token is not None else partner.token_we_send

    def headers(self, module: Optional[str], to_role: Optional[str], correlation_id: Optional[str]) -> dict:
        headers = {
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
        }
        if self.token is not None:
            headers["Authorization"] = f"Token {encode_token(self.token)}"
        if module in FUNCTIONAL:
            headers["OCPI-from-country-code"] = self.state.country_code
            headers["OCPI-from-party-id"] = self.state.party_id
            target = self.target_party(to_role)
            if target:
                headers["OCPI-to-country-code"] = target[0]
                headers["OCPI-to-party-id"] = target[1]
        return headers

    def target_party(self, to_role: Optional[str]) -> Optional[tuple]:
        roles = self.partner.roles or []
        chosen = None
        for role in roles:
            value = str(getattr(role.get("role"), "value", role.get("role", ""))).upper()
            if to_role is None or value == to_role:
                chosen = role
                break
        if chosen is None and roles:
            chosen = roles[0]
        if chosen is None:
            return None
        return (str(chosen.get("country_code", "")).upper(), str(chosen.get("party_id", "")).upper())

    async def request(
        self,
        method: str,
        url: str,
        module: Optional[str] = None,
        to_role: Optional[str] = None,
        json: Any = None,
        params: Optional[dict] = None,
        extra_headers: Optional[dict] = None,
        correlation_id: Optional[str] = None,
    ) -> httpx.Response:
        headers = self.headers(module, to_role, correlation_id)
        headers.update(extra_headers or {})
        async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as client:
            return await client.request(method, url, headers=headers, json=json, params=params)


async def fetch_endpoints(client: OcpiClient, versions_url: str, steps: list) -> list:
    """GET versions, pick 2.2.1, GET its details; the endpoints list, or ValueError."""
    response = await client.request("GET", versions_url)
    steps.append(trace(response))
    if response.status_code != 200:
        raise ValueError(f"GET versions answered HTTP {response.status_code}")
    versions = (body_of(response) or {}).get("data") or []
    details_url = next((v.get("url") for v in versions if v.get("version") == "2.2.1"), None)
    if not details_url:
        raise ValueError("partner offers no OCPI 2.2.1")
    response = await client.request("GET", details_url)
    steps.append(trace(response))
    if response.status_code != 200:
        raise ValueError(f"GET version details answered HTTP {response.status_code}")
    details = envelope_data(body_of(response)) or {}
    endpoints = details.get("endpoints") if isinstance(details, dict) else None
    if not endpoints:
        raise ValueError("version details list no endpoints")
    return endpoints


async def discover(client: OcpiClient, versions_url: str, steps: list) -> tuple:
    """The partner's endpoints and its credentials URL, or ValueError / httpx.HTTPError."""
    endpoints = await fetch_endpoints(client, versions_url, steps)
    credentials_url = Partner(versions_url, "", endpoints=endpoints).endpoint("credentials")
    if not credentials_url:
        raise ValueError("version details list no credentials endpoint")
    return endpoints, credentials_url


def credentials_answer(response: httpx.Response) -> Optional[dict]:
    body = body_of(response)
    if response.status_code not in (200, 201) or not isinstance(body, dict):
        return None
    if body.get("status_code") != 1000:
        return None
    data = envelope_data(body)
    if not isinstance(data, dict) or not data.get("token"):
        return None
    return data


def build_router(state: State) -> APIRouter:
    router = APIRouter(prefix="/control")

    def pick_partner(index: Optional[int]) -> Optional[Partner]:
        return state.partner(index)

    def done(partner: Partner, steps: list) -> Any:
        summary = partner.summary(state.partners.index(partner))
        return jsonable_encoder({"ok": True, "partner": summary, "steps": steps})

    @router.get("/health")
    async def health() -> dict:
        return {"ok": True}

    @router.get("/state")
    async def get_state() -> Any:
        return jsonable_encoder(
            {
                "base_url": state.base_url,
                "versions_url": state.versions_url,
                "token_a": state.token_a,
                "country_code": state.country_code,
                "party_id": state.party_id,
                "roles": state.roles,
                "partners": [p.summary(i) for i, p in enumerate(state.partners)],
                "own_counts": {name: len(objects) for name, objects in state.own.items()},
            }
        )

    @router.post("/token-a")
    async def issue_token_a(body: dict = Body(default={})) -> dict:
        """Issue a token A for a partner to register with (``token`` to choose it)."""
        token = str(body.get("token") or new_token())
        state.token_a.append(token)
        return {"token": token, "versions_url": state.versions_url}

    @router.post("/register")
    async def register(body: dict = Body(...)) -> Any:
        """Sender side of the handshake: register with a partner given its versions URL
        and the token A it issued."""
        versions_url = body.get("versions_url")
        token_a = body.get("token")
        if not versions_url or not token_a:
            return failed(400, "versions_url and token are required")
        steps: list = []
        probe = Partner(versions_url=versions_url, token_we_accept="", registered_by="us")
        client = OcpiClient(state, probe, token=str(token_a))
        try:
            endpoints, credentials_url = await discover(client, versions_url, steps)
        except (ValueError, httpx.HTTPError) as error:
            return failed(502, str(error), steps=steps)
        # The partner calls our versions and details with token B while it handles the
        # POST, so B must be valid before we send it.
        partner = Partner(
            versions_url=versions_url,
            token_we_accept=new_token(),
            endpoints=endpoints,
            registered_by="us",
            pending=True,
        )
        state.partners.append(partner)
        try:
            response = await client.request(
                "POST",
                credentials_url,
                module="credentials",
                json=state.credentials_for(partner),
            )
        except httpx.HTTPError as error:
            state.partners.remove(partner)
            return failed(502, f"POST credentials: {error}", steps=steps)
        steps.append(trace(response))
        answer = credentials_answer(response)
        if answer is None:
            state.partners.remove(partner)
            return failed(502, "POST credentials was not accepted", steps=steps)
        partner.token_we_send = str(answer["token"])
        partner.roles = answer.get("roles") or []
        partner.pending = False
        return done(partner, steps)

    @router.post("/update-credentials")
    async def update_credentials(body: dict = Body(default={})) -> Any:
        """PUT our credentials again (token rotation / endpoint refresh)."""
        partner = pick_partner(body.get("partner"))
        if partner is None or not partner.token_we_send:
            return failed(404, "no registered partner")
        steps: list = []
        client = OcpiClient(state, partner)
        try:
            endpoints, credentials_url = await discover(client, partner.versions_url, steps)
        except (ValueError, httpx.HTTPError) as error:
            return failed(502, str(error), steps=steps)
        offered = new_token()
        partner.pending_accept = offered
        try:
            response = await client.request(
                "PUT",
                credentials_url,
                module="credentials",
                json={"token": offered, "url": state.versions_url, "roles": state.roles_object()},
            )
        except httpx.HTTPError as error:
            partner.pending_accept = None
            return failed(502, f"PUT credentials: {error}", steps=steps)
        steps.append(trace(response))
        partner.pending_accept = None
        answer = credentials_answer(response)
        if answer is None:
            return failed(502, "PUT credentials was not accepted", steps=steps)
        partner.token_we_accept = offered
        partner.token_we_send = str(answer["token"])
        partner.roles = answer.get("roles") or partner.roles
        partner.endpoints = endpoints
        return done(partner, steps)

    @router.post("/unregister")
    async def unregister(body: dict = Body(default={})) -> Any:
        """DELETE our registration at the partner and forget it."""
        partner = pick_partner(body.get("partner"))
        if partner is None:
            return failed(404, "no registered partner")
        url = partner.endpoint("credentials")
        if not url:
            return failed(404, "partner lists no credentials endpoint")
        try:
            response = await OcpiClient(state, partner).request("DELETE", url, module="credentials")
        except httpx.HTTPError as error:
            return failed(502, f"DELETE credentials: {error}")
        if response.status_code == 200:
            state.partners.remove(partner)
        return jsonable_encoder({"ok": response.status_code == 200, "response": trace(response)})

    @router.post("/seed-locations")
    async def seed_locations(body: dict = Body(...)) -> Any:
        count = body.get("count")
        if not isinstance(count, int) or count < 0:
            return failed(400, "count must be a non-negative integer")
        evses = body.get("evses_per_location", 1)
        state.seed_locations(count, evses, body.get("country_code"), body.get("party_id"))
        return {"ok": True, "count": len(state.own["locations"])}

    @router.post("/own/{module}")
    async def put_own(module: str, body: dict = Body(...)) -> Any:
        """Store an object the peer owns (CPO: locations, sessions, cdrs, tariffs; eMSP:
        tokens) after the library's own validation."""
        adapter = ADAPTERS.get(module)
        if adapter is None:
            return failed(404, f"unknown module {module}")
        try:
            adapter(body)
        except (ValidationError, TypeError, ValueError) as error:
            return failed(400, f"invalid {module} object: {error}")
        state.put_own(module, body)
        return {"ok": True, "count": len(state.own[module])}

    @router.get("/received")
    async def received() -> Any:
        def listing(objects: dict) -> list:
            return [{"key": list(k) if isinstance(k, tuple) else k, "object": v} for k, v in objects.items()]

        return jsonable_encoder(
            {
                **{name: listing(objects) for name, objects in state.received.items()},
                "writes": state.writes,
                "commands_received": state.commands_received,
                "commands_sent": state.commands_sent,
                "authorizations": state.authorizations,
            }
        )

    @router.get("/requests")
    async def requests(after: int = 0, path_contains: Optional[str] = None) -> Any:
        entries = [
            e for e in state.requests if e["seq"] > after and (not path_contains or path_contains in e["path"])
        ]
        return jsonable_encoder(entries)

    @router.post("/command-behaviour")
    async def command_behaviour(body: dict = Body(...)) -> Any:
        """How the peer as CPO answers commands: ``response`` (CommandResponseType, or null
        for no answer), ``result`` (CommandResultType sent to response_url, or null to
        let the library time out), ``timeout`` (seconds)."""
        for key in ("response", "result", "timeout"):
            if key in body:
                state.command_behaviour[key] = body[key]
        return dict(state.command_behaviour)

    async def send_command(
        command: str, payload: dict, partner_index: Optional[int], url: Optional[str]
    ) -> Any:
        partner = pick_partner(partner_index)
        if partner is None:
            return failed(404, "no registered partner")
        url = url or partner.endpoint("commands", "RECEIVER")
        if not url:
            return failed(404, "partner lists no commands RECEIVER endpoint (pass url)")
        uid = uuid.uuid4().hex
        body = dict(payload)
        body["response_url"] = f"{state.base_url}/ocpi/emsp/2.2.1/commands/{uid}"
        entry: dict = {"command": command, "request": body}
        state.commands_sent[uid] = entry
        try:
            response = await OcpiClient(state, partner).request(
                "POST", join_url(url, command), module="commands", to_role="CPO", json=body
            )
        except httpx.HTTPError as error:
            entry["error"] = str(error)
            return failed(502, f"POST {command}: {error}", uid=uid)
        entry["response"] = {"status": response.status_code, "body": body_of(response)}
        return jsonable_encoder({"ok": True, "uid": uid, "response": trace(response)})

    @router.post("/command")
    async def command(body: dict = Body(...)) -> Any:
        """Send any command (``command``: START_SESSION, ...) with ``body`` (response_url is
        filled in) to the partner's commands RECEIVER, or to ``url`` (the commands module
        URL) for a partner that does not list it."""
        name = body.get("command")
        payload = body.get("body")
        if not isinstance(name, str) or not isinstance(payload, dict):
            return failed(400, "command (string) and body (object) are required")
        return await send_command(name, payload, body.get("partner"), body.get("url"))

    @router.post("/start-session")
    async def start_session(body: dict = Body(...)) -> Any:
        """START_SESSION for ``location_id`` (``evse_uid``, ``connector_id`` optional) with
        the own token ``token_uid`` (or an APP_USER token made up for the call); ``url``
        as for ``/control/command``."""
        location_id = body.get("location_id")
        if not location_id:
            return failed(400, "location_id is required")
        token = None
        if body.get("token_uid"):
            token = state.own["tokens"].get((str(body["token_uid"]).lower(), body.get("token_type", "RFID")))
            if token is None:
                return failed(404, f"no own token {body['token_uid']}")
        if token is None:
            token = {
                "country_code": state.country_code,
                "party_id": state.party_id,
                "uid": "APP-" + uuid.uuid4().hex[:12].upper(),
                "type": "APP_USER",
                "contract_id": f"{state.country_code}-{state.party_id}-C{uuid.uuid4().hex[:8].upper()}",
                "issuer": "extrawest-ocpi interop peer",
                "valid": True,
                "whitelist": "ALLOWED",
                "last_updated": "2024-01-01T00:00:00Z",
            }
        payload = {"token": token, "location_id": location_id}
        for key in ("evse_uid", "connector_id", "authorization_reference"):
            if body.get(key):
                payload[key] = body[key]
        return await send_command("START_SESSION", payload, body.get("partner"), body.get("url"))

    @router.post("/call")
    async def call(body: dict = Body(...)) -> Any:
        """Any request to a partner endpoint: ``module``, ``role`` (the partner's interface
        role: SENDER/RECEIVER), ``method``, ``path`` (appended to the endpoint URL),
        ``query``, ``body``, ``headers`` (override or add), ``to_role``, ``partner``,
        ``token`` (send this token instead of the partner's), ``url`` (the module URL, for
        an endpoint the partner does not list)."""
        partner = pick_partner(body.get("partner"))
        if partner is None:
            return failed(404, "no registered partner")
        module = body.get("module")
        role = str(body.get("role", "")).upper() or None
        if not module:
            return failed(400, "module is required")
        url = body.get("url") or partner.endpoint(module, role)
        if not url:
            return failed(404, f"partner lists no {module} {role or ''} endpoint (pass url)")
        path = str(body.get("path") or "")
        # Without a path the URL is used exactly as advertised (trailing slash and all).
        target = join_url(url, path) if path else url
        client = OcpiClient(state, partner, token=body.get("token"))
        try:
            response = await client.request(
                str(body.get("method", "GET")).upper(),
                target,
                module=module,
                to_role=body.get("to_role") or partner_role_for(module, role or "SENDER"),
                json=body.get("body"),
                params=body.get("query"),
                extra_headers=body.get("headers"),
            )
        except httpx.HTTPError as error:
            return failed(502, f"{target}: {error}")
        return jsonable_encoder({"ok": True, "response": trace(response)})

    return router
