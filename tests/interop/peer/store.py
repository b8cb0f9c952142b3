"""In-memory state of the interop peer and the classes extrawest-ocpi calls into.

extrawest-ocpi (import name ``py_ocpi``) leaves storage and business logic to the
application: every route calls ``crud.get/list/create/update/delete/do`` with the module,
the role the *server* plays on that route (``RoleEnum.cpo`` on ``/ocpi/cpo/...`` routes,
``RoleEnum.emsp`` on ``/ocpi/emsp/...``) and keyword context (``auth_token`` = the
decoded token of the caller, ``country_code``/``party_id`` from the URL, ...). Tokens are
checked by an ``Authenticator`` class that lists the valid tokens A and C.

Everything lives in one :class:`State` object; nothing is persisted. This module must be
imported only after the library's settings were set through the environment (``app.py``
does that), because ``py_ocpi`` reads them at import time.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from py_ocpi.core.adapter import BaseAdapter
from py_ocpi.core.authentication.authenticator import Authenticator
from py_ocpi.core.crud import Crud
from py_ocpi.core.enums import Action, ModuleID, RoleEnum

#: Modules whose objects the peer stores, with the role that owns their objects.
OWNER = {
    "locations": "CPO",
    "sessions": "CPO",
    "cdrs": "CPO",
    "tariffs": "CPO",
    "tokens": "EMSP",
}

#: The library's validating constructor for each stored module, used to check objects
#: handed to the control API before they are stored.
ADAPTERS = {
    "locations": BaseAdapter.location_adapter,
    "sessions": BaseAdapter.session_adapter,
    "cdrs": BaseAdapter.cdr_adapter,
    "tariffs": BaseAdapter.tariff_adapter,
    "tokens": BaseAdapter.token_adapter,
}

#: Seeded locations get ``last_updated`` = this instant + their index in seconds, so that
#: ``date_from``/``date_to`` filters select predictable ranges.
SEED_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def new_token() -> str:
    """A fresh credentials token: 32 URL-safe characters (OCPI allows up to 64)."""
    return secrets.token_urlsafe(24)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any) -> Optional[datetime]:
    """OCPI DateTime (string, or a datetime from FastAPI's query parsing) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def module_name(module: Any) -> str:
    """``ModuleID`` member or plain string -> the module identifier string."""
    return ModuleID(module).value


def role_name(role: Any) -> Optional[str]:
    return None if role is None else RoleEnum(role).value


@dataclass
class Partner:
    """A platform registered with the peer (either direction of the handshake)."""

    versions_url: str
    #: The token the partner sends to us (our token C when it registered with us, the
    #: token B we gave it when we registered with it).
    token_we_accept: str
    #: The token we send to the partner (its token B, or the token C it returned).
    token_we_send: Optional[str] = None
    endpoints: list = field(default_factory=list)
    roles: list = field(default_factory=list)
    #: ``"them"`` when the partner POSTed its credentials to us, ``"us"`` when we did.
    registered_by: str = "them"
    #: A token offered in a running update (PUT) of our own, valid while it runs.
    pending_accept: Optional[str] = None
    #: True while our own registration POST is under way.
    pending: bool = False

    def endpoint(self, module: str, role: Optional[str] = None) -> Optional[str]:
        """URL of the partner's endpoint for ``module`` (and interface role, if given)."""
        for endpoint in self.endpoints:
            if endpoint.get("identifier") != module:
                continue
            if role is None or str(endpoint.get("role", "")).upper() == role:
                return endpoint.get("url")
        return None

    def summary(self, index: int) -> dict:
        return {
            "index": index,
            "versions_url": self.versions_url,
            "token_we_accept": self.token_we_accept,
            "token_we_send": self.token_we_send,
            "registered_by": self.registered_by,
            "pending": self.pending,
            "roles": self.roles,
            "endpoints": self.endpoints,
        }


class State:
    """Everything the peer knows; one per process."""

    def __init__(
        self,
        base_url: str,
        country_code: str,
        party_id: str,
        roles: list[str],
        request_log_size: int = 5000,
    ) -> None:
        self.base_url = base_url
        self.versions_url = f"{base_url}/ocpi/versions"
        self.country_code = country_code
        self.party_id = party_id
        self.roles = roles
        self.token_a: list[str] = []
        self.partners: list[Partner] = []
        #: Objects this peer owns (served by its SENDER interfaces), by lower-case id;
        #: tokens by (lower-case uid, type).
        self.own: dict[str, dict] = {name: {} for name in OWNER}
        #: Objects partners pushed to its RECEIVER interfaces, by
        #: (country_code, party_id, id) as the library hands them over (lower case);
        #: CDRs by id alone (the library's CDR GET has no country/party segments).
        self.received: dict[str, dict] = {name: {} for name in OWNER}
        #: Every write a partner made through a RECEIVER interface, in arrival order.
        self.writes: list[dict] = []
        #: CPO side: commands partners sent to the peer.
        self.commands_received: list[dict] = []
        self.command_behaviour: dict[str, Any] = {
            "response": "ACCEPTED",
            "result": "ACCEPTED",
            "timeout": 30,
        }
        #: eMSP side: commands the peer sent, by the uid in their response_url, with the
        #: synchronous answer and the asynchronous result once it arrives.
        self.commands_sent: dict[str, dict] = {}
        #: eMSP side: real-time authorizations partners asked for.
        self.authorizations: list[dict] = []
        #: Every OCPI request the peer served (not the control API), newest last.
        self.requests: deque = deque(maxlen=request_log_size)
        self.request_seq = 0

    # --- credentials -------------------------------------------------------------------

    def roles_object(self) -> list[dict]:
        return [
            {
                "role": role,
                "business_details": {"name": f"extrawest-ocpi interop peer ({role})"},
                "party_id": self.party_id,
                "country_code": self.country_code,
            }
            for role in self.roles
        ]

    def credentials_for(self, partner: Partner) -> dict:
        """Our Credentials object as the partner must see it (the token it uses with us)."""
        return {
            "token": partner.token_we_accept,
            "url": self.versions_url,
            "roles": self.roles_object(),
        }

    def partner_by_token(self, token: Optional[str]) -> Optional[Partner]:
        if token is None:
            return None
        for partner in self.partners:
            if token in (partner.token_we_accept, partner.pending_accept):
                return partner
        return None

    def partner(self, index: Optional[int]) -> Optional[Partner]:
        """Partner by index; the newest complete registration when ``index`` is None."""
        if index is not None:
            if 0 <= index < len(self.partners):
                return self.partners[index]
            return None
        for partner in reversed(self.partners):
            if not partner.pending and partner.token_we_send:
                return partner
        return None

    def valid_tokens_c(self) -> list[str]:
        tokens = [p.token_we_accept for p in self.partners]
        tokens.extend(p.pending_accept for p in self.partners if p.pending_accept)
        return tokens

    # --- own data ----------------------------------------------------------------------

    def put_own(self, module: str, obj: dict) -> None:
        if module == "tokens":
            key: Any = (str(obj["uid"]).lower(), str(obj.get("type", "RFID")))
        else:
            key = str(obj["id"]).lower()
        self.own[module][key] = obj

    def seed_locations(
        self, count: int, evses: int = 1, country_code: Optional[str] = None,
        party_id: Optional[str] = None,
    ) -> None:
        """Replace the own locations with ``count`` generated ones."""
        cc = country_code or self.country_code
        pid = party_id or self.party_id
        self.own["locations"] = {}
        for i in range(count):
            self.put_own("locations", seed_location(i, evses, cc, pid))

    def record_write(self, module: str, role: Optional[str], op: str, key: Any, data: Any) -> None:
        self.writes.append(
            {"module": module, "role": role, "op": op, "key": list(key) if isinstance(key, tuple) else key, "data": data}
        )


def seed_location(i: int, evses: int, cc: str, pid: str) -> dict:
    stamp = (SEED_EPOCH + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    location_id = f"LOC{i:06d}"
    return {
        "country_code": cc,
        "party_id": pid,
        "id": location_id,
        "publish": True,
        "name": f"Interop site {i}",
        "address": f"Teststraat {i}",
        "city": "Utrecht",
        "postal_code": "3511AA",
        "country": "NLD",
        "coordinates": {
            "latitude": f"{52 + (i % 1000) / 10000:.6f}",
            "longitude": f"{5 + (i // 1000) / 10000:.6f}",
        },
        "time_zone": "Europe/Amsterdam",
        "evses": [
            {
                "uid": f"{location_id}-E{j}",
                "evse_id": f"{cc}*{pid}*E{i:06d}{j}",
                "status": "AVAILABLE",
                "capabilities": ["REMOTE_START_STOP_CAPABLE", "RFID_READER"],
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                        "max_electric_power": 22000,
                        "last_updated": stamp,
                    }
                ],
                "last_updated": stamp,
            }
            for j in range(evses)
        ],
        "last_updated": stamp,
    }


def make_authenticator(state: State) -> type:
    """The Authenticator class for ``get_application`` (it wants a class, not an object:
    its dependency override calls it, which instantiates it per request)."""

    class PeerAuthenticator(Authenticator):
        @classmethod
        async def get_valid_token_c(cls) -> list[str]:
            return state.valid_tokens_c()

        @classmethod
        async def get_valid_token_a(cls) -> list[str]:
            return list(state.token_a)

    return PeerAuthenticator


class PeerCrud(Crud):
    """Storage and business logic behind every extrawest-ocpi route, in memory."""

    def __init__(self, state: State) -> None:
        self.state = state

    def _is_own(self, module: str, role: Any) -> bool:
        return OWNER.get(module) == role_name(role)

    @staticmethod
    def _received_key(module: str, kwargs: dict, object_id: Any) -> Any:
        if module == "cdrs":
            return str(object_id).lower()
        return (
            str(kwargs.get("country_code", "")).lower(),
            str(kwargs.get("party_id", "")).lower(),
            str(object_id).lower(),
        )

    @staticmethod
    def _token_key(object_id: Any, kwargs: dict) -> tuple:
        token_type = kwargs.get("token_type") or "RFID"
        return (str(object_id).lower(), getattr(token_type, "value", str(token_type)))

    async def get(self, module, role, id, *args, **kwargs) -> Any:  # noqa: A002
        name = module_name(module)
        state = self.state
        if name == "credentials":
            partner = state.partner_by_token(kwargs.get("auth_token"))
            return state.credentials_for(partner) if partner else None
        if name == "commands":
            # CPO side: the library polls for the charger's result of an accepted command.
            result = state.command_behaviour.get("result")
            return {"result": result} if result else None
        if name not in OWNER:
            return None
        if name == "tokens":
            uid, token_type = self._token_key(id, kwargs)
            if self._is_own(name, role):
                return state.own[name].get((uid, token_type))
            return state.received[name].get((*self._received_key(name, kwargs, id), token_type))
        if self._is_own(name, role):
            return state.own[name].get(str(id).lower())
        return state.received[name].get(self._received_key(name, kwargs, id))

    async def list(self, module, role, filters, *args, **kwargs) -> tuple:
        name = module_name(module)
        if name not in OWNER:
            return [], 0, True
        bucket = self.state.own if self._is_own(name, role) else self.state.received
        items = list(bucket[name].values())
        date_from = parse_datetime(filters.get("date_from"))
        date_to = parse_datetime(filters.get("date_to"))
        if date_from or date_to:
            selected = []
            for item in items:
                updated = parse_datetime(item.get("last_updated"))
                if updated is None:
                    continue
                if date_from and updated < date_from:
                    continue
                if date_to and updated >= date_to:
                    continue
                selected.append(item)
            items = selected
        offset = max(int(filters.get("offset") or 0), 0)
        limit = max(int(filters.get("limit") or 0), 0)
        total = len(items)
        page = items[offset : offset + limit]
        return page, total, offset + limit >= total

    async def create(self, module, role, data, *args, **kwargs) -> Any:
        name = module_name(module)
        if name == "credentials":
            return self._register(data, kwargs.get("auth_token"))
        if name not in OWNER:
            return data
        return self._store_received(name, role, "create", data, data.get("id") or data.get("uid"), kwargs)

    async def update(self, module, role, data, id, *args, **kwargs) -> Any:  # noqa: A002
        name = module_name(module)
        state = self.state
        if name == "credentials":
            return self._update_registration(data, kwargs.get("auth_token"))
        if name == "commands":
            # eMSP side: the asynchronous CommandResult for the command with this uid.
            entry = state.commands_sent.setdefault(str(id), {"unknown_uid": True})
            entry["result"] = data
            entry["result_at"] = utc_now()
            return data
        if name not in OWNER or self._is_own(name, role):
            return data
        return self._store_received(name, role, "update", data, id, kwargs)

    async def delete(self, module, role, id, *args, **kwargs) -> None:  # noqa: A002
        name = module_name(module)
        state = self.state
        if name == "credentials":
            partner = state.partner_by_token(kwargs.get("auth_token"))
            if partner in state.partners:
                state.partners.remove(partner)
            return
        if name in OWNER and not self._is_own(name, role):
            key = self._received_key(name, kwargs, id)
            state.received[name].pop(key, None)
            state.record_write(name, role_name(role), "delete", key, None)

    async def do(self, module, role, action, *args, data=None, **kwargs) -> Any:
        state = self.state
        action = Action(action)
        if action == Action.send_command:
            command = kwargs.get("command")
            body = data if data is not None else (args[0] if args else None)
            state.commands_received.append(
                {
                    "command": getattr(command, "value", command),
                    "body": body,
                    "at": utc_now(),
                }
            )
            response = state.command_behaviour.get("response")
            if not response:
                return None
            return {"result": response, "timeout": int(state.command_behaviour.get("timeout", 30))}
        if action == Action.get_client_token:
            partner = state.partner_by_token(kwargs.get("auth_token"))
            return partner.token_we_send if partner else None
        if action == Action.authorize_token:
            return self._authorize(data or {})
        return None

    # --- helpers -----------------------------------------------------------------------

    def _store_received(self, name: str, role: Any, op: str, data: dict, object_id: Any, kwargs: dict) -> dict:
        state = self.state
        if name == "tokens":
            # Keyed like `get` looks it up: by the type in the query, as the library does.
            key: Any = (*self._received_key(name, kwargs, object_id), self._token_key(object_id, kwargs)[1])
        else:
            key = self._received_key(name, kwargs, object_id)
        state.received[name][key] = data
        state.record_write(name, role_name(role), op, key, data)
        return data

    def _register(self, data: dict, token_a: Optional[str]) -> dict:
        """A partner POSTed its credentials with one of our tokens A (the library has
        already fetched its versions and version details with the token it sent)."""
        state = self.state
        credentials = data["credentials"]
        details = data.get("endpoints") or {}
        partner = Partner(
            versions_url=str(credentials["url"]),
            token_we_accept=new_token(),
            token_we_send=str(credentials["token"]),
            endpoints=list(details.get("endpoints", [])) if isinstance(details, dict) else [],
            roles=credentials.get("roles", []),
            registered_by="them",
        )
        state.partners.append(partner)
        # Token A is single-use (ocpi-2.2.1.md section 3.2, step 6).
        if token_a in state.token_a:
            state.token_a.remove(token_a)
        return state.credentials_for(partner)

    def _update_registration(self, data: dict, token: Optional[str]) -> Optional[dict]:
        state = self.state
        partner = state.partner_by_token(token)
        if partner is None:
            return None
        credentials = data["credentials"]
        details = data.get("endpoints") or {}
        partner.versions_url = str(credentials["url"])
        partner.token_we_send = str(credentials["token"])
        partner.roles = credentials.get("roles", [])
        if isinstance(details, dict):
            partner.endpoints = list(details.get("endpoints", []))
        partner.token_we_accept = new_token()
        return state.credentials_for(partner)

    def _authorize(self, data: dict) -> dict:
        state = self.state
        token_type = data.get("token_type") or "RFID"
        key = (str(data.get("token_uid", "")).lower(), getattr(token_type, "value", str(token_type)))
        token = state.own["tokens"].get(key)
        state.authorizations.append({"request": data, "known": token is not None, "at": utc_now()})
        if token is None:
            return {}
        allowed = "ALLOWED" if token.get("valid", False) else "BLOCKED"
        answer = {
            "allowed": allowed,
            "token": token,
            "authorization_reference": secrets.token_hex(8),
        }
        if data.get("location_reference"):
            answer["location"] = data["location_reference"]
        return answer
