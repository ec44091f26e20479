"""Auth, tenancy and path-prefix checks in front of the API."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from lokisim import Auth, Fault, LokiSim
from lokisim.client import get
from lokisim.clock import NOW, T0

LABELS = "/loki/api/v1/labels"
PARAMS = {"start": T0, "end": NOW}


@pytest.fixture
def secured() -> Iterator[LokiSim]:
    """Basic auth or a bearer token, plus a required tenant."""
    auth = Auth(basic=("12345", "glc_token"), bearer="tok", org_id="tenant-a")
    with LokiSim(auth=auth, clock=NOW) as sim:
        yield sim


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": _basic("12345", "wrong")}, 401, "unauthorized"),
        ({"Authorization": "Bearer nope", "X-Scope-OrgID": "tenant-a"}, 401, "unauthorized"),
        ({"Authorization": _basic("12345", "glc_token")}, 401, "no org id"),
        ({"Authorization": "Bearer tok", "X-Scope-OrgID": "tenant-b"}, 401, "unauthorized"),
        ({"Authorization": _basic("12345", "glc_token"), "X-Scope-OrgID": "tenant-a"}, 200, None),
        ({"Authorization": "Bearer tok", "X-Scope-OrgID": "tenant-a"}, 200, None),
    ],
)
def test_credentials_and_tenant(secured: LokiSim, headers: dict, status: int, body: str | None):
    response = get(secured.url + LABELS, PARAMS, headers=headers)
    assert response.status == status
    if body is not None:
        assert response.text == body
        assert response.headers["content-type"].startswith("text/plain")


def test_any_tenant_accepted_when_org_id_is_true():
    with LokiSim(auth=Auth(org_id=True), clock=NOW) as sim:
        assert get(sim.url + LABELS, PARAMS).text == "no org id"
        assert get(sim.url + LABELS, PARAMS, headers={"X-Scope-OrgID": "x"}).status == 200


def test_ready_needs_no_credentials(secured: LokiSim):
    response = get(secured.url + "/ready")
    assert (response.status, response.text) == (200, "ready")


def test_path_prefix():
    with LokiSim(path_prefix="/loki-prefix/", clock=NOW) as sim:
        assert sim.url.endswith("/loki-prefix")
        assert get(sim.url + LABELS, PARAMS).status == 200
        unprefixed = sim.url.removesuffix("/loki-prefix") + LABELS
        assert get(unprefixed, PARAMS).status == 404
        assert sim.requests[-1].path == LABELS  # recorded as received
        sim.faults.queue(Fault.status(503), path=LABELS)  # API path matches under a prefix
        assert get(sim.url + LABELS, PARAMS).status == 503
