"""The HTTP API of ``v2b serve`` (FastAPI; OpenAPI at ``/docs``). ``docs/service.md``, "API".

JSON in and out, times ISO 8601 with the site's UTC offset, SoC in percent. Errors are
``{"error": "<message naming the field and value>"}`` with a 4xx status (503 when the
database did not take a change). The work is done by :class:`v2b.service.live.LiveSite`.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from v2b.service.demo import DemoDrivers
from v2b.service.live import ArrivalRequest, LiveSite, ServiceError, ServiceSetupError
from v2b.service.pages import driver_page, operator_page

log = logging.getLogger("v2b.service")

#: Largest request body taken [bytes]; a request is a few hundred bytes.
MAX_BODY_BYTES = 16_384


class ArrivalIn(BaseModel):
    """A driver at a charger asks for a menu. The body is read with its numbers as decimals
    (:func:`_read_json`), so a SoC written with enough digits is taken to the last bit."""

    model_config = ConfigDict(extra="forbid")

    charger_id: str = Field(min_length=1, max_length=64, description="The charger the car stands at.")
    battery_kwh: float = Field(ge=1.0, le=1000.0, allow_inf_nan=False, description="Battery capacity [kWh].")
    arrival_soc_pct: Decimal = Field(ge=0, le=100, allow_inf_nan=False, description="SoC now [%].")
    requested_soc_pct: Decimal = Field(ge=0, le=100, allow_inf_nan=False,
                                       description="SoC wanted at departure [%].")
    departure: AwareDatetime = Field(description="When the driver wants to leave (ISO 8601 with offset).")
    max_charge_kw: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False,
                                        description="The car's own charging limit [kW] (default: the "
                                                    "charger's).")
    max_discharge_kw: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False,
                                           description="The car's own discharge limit [kW] (default: "
                                                       "the charger's).")
    v2b_allowed: bool = Field(default=True, description="Whether the car may give energy back (V2B).")
    request_id: str | None = Field(default=None, min_length=1, max_length=200,
                                   description="Client-chosen id making a retried POST safe "
                                               "(alternative to the Idempotency-Key header).")


class ChoiceIn(BaseModel):
    """The driver's answer: an ``option_id`` of the menu, or ``"reject"``."""

    model_config = ConfigDict(extra="forbid")

    option_id: str = Field(min_length=1, max_length=64)


class MeterIn(BaseModel):
    """The site meter: the building's mean load over one ended 15-minute slot."""

    model_config = ConfigDict(extra="forbid")

    slot_start: AwareDatetime = Field(description="Any moment of the slot (ISO 8601 with offset).")
    building_kw: float = Field(allow_inf_nan=False, description="Mean building load over the slot [kW].")


class StepIn(BaseModel):
    """How many 15-minute slots a manual clock moves on."""

    model_config = ConfigDict(extra="forbid")

    slots: int = Field(default=1, ge=1, le=31 * 96)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ServiceError(401, "the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def _read_json(request: Request, model: type[BaseModel]) -> Any:
    """The body as ``model``, its numbers parsed as decimals (not through a binary float:
    ``"82.33371425728203"`` percent is then exactly the fraction ``0.8233371425728203``)."""
    raw = await request.body()
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ServiceError(400, f"malformed JSON: {err}") from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ServiceError(*_validation_message(err.errors())) from None


def _validation_message(errors: Sequence[Any]) -> tuple[int, str]:
    """One readable sentence for a body that did not validate (400 for malformed JSON)."""
    parts = []
    for e in errors:
        if e.get("type") == "json_invalid":
            ctx = e.get("ctx") or {}
            return 400, f"malformed JSON: {ctx.get('error', e.get('msg'))}"
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        if e.get("type") == "missing":
            parts.append(f"{loc} is missing")
        elif e.get("type") == "extra_forbidden":
            parts.append(f"{loc} is not a field of this request")
        else:
            value = e.get("input")
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
            parts.append(f"{loc}: {e.get('msg')} (got {shown})")
    return 422, "; ".join(parts) or "the request body is not valid"


def _ocpp_hub(live: LiveSite) -> Any:
    """The OCPP side (``docs/ocpp.md``) where the site declares charge points and the ``ocpp``
    package is installed (the [serve] extra); else ``None``."""
    if live.site.ocpp is None:
        return None
    try:
        from v2b.service.ocpp import OcppHub
    except ImportError as err:
        raise ServiceSetupError(f"the site declares OCPP charge points but {err.name} is missing: "
                                "pip install -e '.[serve]'") from None
    return OcppHub(live)


def create_app(live: LiveSite, operator_token: str, ticker: bool = True, demo: bool = False) -> FastAPI:
    """The API over ``live``; ``ticker`` runs a thread that moves a realtime or x60 clock,
    ``demo`` one that plays the episode's drivers against it (:mod:`v2b.service.demo`)."""
    stop = threading.Event()

    def tick_loop() -> None:
        while not stop.is_set():
            wait = min(max(live.seconds_to_next_decision(), 0.05), 1.0)
            if stop.wait(wait if math.isfinite(wait) else 1.0):
                return
            try:
                live.tick()
            except ServiceError as err:
                log.error("clock tick: %s", err.message)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        thread = None
        if ticker and live.clock.kind != "manual":
            thread = threading.Thread(target=tick_loop, name="v2b-clock", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=5)

    app = FastAPI(
        title="v2b serve",
        summary="Negotiate with arriving EV drivers and schedule the chargers of a building.",
        version="1",
        lifespan=lifespan,
    )
    app.state.live = live
    hub = _ocpp_hub(live)
    app.state.ocpp = hub
    if demo:
        DemoDrivers(live).attach()

    def is_operator(token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, operator_token)

    def operator(authorization: str | None) -> None:
        token = _bearer(authorization)
        if token is None:
            raise ServiceError(401, "the operator token is missing: send 'Authorization: Bearer <token>'")
        if not is_operator(token):
            raise ServiceError(403, "the token given is not the operator token")

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, err: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return JSONResponse({"error": err.message}, status_code=err.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        status, message = _validation_message(err.errors())
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(err.detail)}, status_code=err.status_code, headers=err.headers)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"error": f"the request body is larger than {MAX_BODY_BYTES} bytes"},
                                status_code=413)
        return await call_next(request)

    arrival_schema = {"requestBody": {"required": True, "content": {
        "application/json": {"schema": ArrivalIn.model_json_schema()}}}}

    @app.post("/api/arrivals", status_code=201, tags=["driver"], openapi_extra=arrival_schema)
    async def post_arrival(
        request: Request,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict[str, Any]:
        """A car at a charger: its request, and the menu to choose from (or reject)."""
        received_s = time.monotonic()  # the menu's deadline counts from here
        body: ArrivalIn = await _read_json(request, ArrivalIn)
        if idempotency_key is not None and body.request_id is not None and idempotency_key != body.request_id:
            raise ServiceError(422, f"Idempotency-Key {idempotency_key!r} and request_id {body.request_id!r} "
                                    "differ; give one of them, or the same value")
        key = idempotency_key if idempotency_key is not None else body.request_id
        req = ArrivalRequest(body.charger_id, body.battery_kwh, body.arrival_soc_pct, body.requested_soc_pct,
                             body.departure, body.max_charge_kw, body.max_discharge_kw, body.v2b_allowed)
        answer, new = await run_in_threadpool(live.arrive, req, key, received_s)
        if not new:
            response.headers["Idempotent-Replayed"] = "true"
        return answer

    @app.post("/api/sessions/{session_id}/choice", tags=["driver"])
    def post_choice(session_id: str, body: ChoiceIn,
                    authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """The driver's answer (``option_id`` of the menu, or ``reject``), with the driver token."""
        token = _bearer(authorization)
        return live.choose(session_id, body.option_id, token, is_operator(token))

    @app.get("/api/sessions/{session_id}", tags=["driver"])
    def get_session(session_id: str, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """State, energy so far, expected energy at departure, price (driver token)."""
        token = _bearer(authorization)
        return live.session(session_id, token, is_operator(token))

    @app.get("/api/status", tags=["operator"])
    def get_status(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """Connected sessions with set-points, the month's peak, the bill to date, the next decision."""
        operator(authorization)
        return live.status()

    @app.post("/api/clock/step", tags=["operator"])
    def post_step(body: StepIn | None = None,
                  authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """Move a manual clock on by ``slots`` slots (default 1), deciding each."""
        operator(authorization)
        return live.step((body or StepIn()).slots)

    @app.post("/api/meter", tags=["operator"])
    def post_meter(body: MeterIn, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """The site meter's reading of an ended slot: replaces the building load the engine
        played there (bill, peak, what the controller sees next)."""
        operator(authorization)
        return live.building_reading(body.slot_start, body.building_kw)

    @app.get("/api/slots", tags=["operator"])
    def get_slots(since: int = 0,
                  authorization: Annotated[str | None, Header()] = None) -> list[dict[str, Any]]:
        """Every decided slot from ``since`` on: meter reading, set-point of each charger."""
        operator(authorization)
        return live.slots(since)

    @app.get("/api/sessions", tags=["operator"])
    def get_sessions(authorization: Annotated[str | None, Header()] = None) -> list[dict[str, Any]]:
        """Every session: request, menu, answer, payment."""
        operator(authorization)
        return live.sessions()

    if hub is not None:
        @app.websocket("/ocpp/{charge_point_id}")
        async def ocpp_endpoint(websocket: WebSocket, charge_point_id: str) -> None:
            """A charge point (OCPP 1.6J or 2.0.1, subprotocol ``ocpp1.6`` / ``ocpp2.0.1``)."""
            await hub.serve(websocket, charge_point_id)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/driver")

    @app.get("/driver", response_class=HTMLResponse, tags=["pages"])
    def get_driver_page() -> str:
        """The driver's page: request, options, choice, then the session (phone-sized)."""
        return driver_page(live)

    @app.get("/operator", response_class=HTMLResponse, tags=["pages"])
    def get_operator_page() -> str:
        """The operator's page: today's load and the month's peak, sessions, the bill against
        the no-EV and uncontrolled references, solver health (asks for the operator token)."""
        return operator_page(live)

    @app.get("/api/health", tags=["operator"])
    def get_health() -> dict[str, Any]:
        """Liveness: the clock and the next slot to decide (no token needed)."""
        return {"ok": True, "slot": live.sim.slot, "now": live.clock.now().isoformat(timespec="seconds")}

    return app
