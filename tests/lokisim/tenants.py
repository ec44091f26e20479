"""A multi-tenant Loki (``auth_enabled: true``): each ``X-Scope-OrgID`` sees its own streams.

Real Loki keeps tenants apart: a request without the header is refused ("no org id"), and
one for another tenant simply finds nothing. ``LokiSim`` only checks the header, so this
subclass gives every tenant its own store. It lives in its own module so the shared
simulator stays untouched: the handler thread records each request (``_record``) before it
routes it, and routing reads ``api``, which here answers for the tenant just recorded.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .api import LokiApi
from .config import Auth
from .sim import LokiSim
from .store import Store


class TenantPusher:
    """``push`` into one tenant, so helpers written for ``LokiSim.push`` load a tenant."""

    def __init__(self, sim: TenantLokiSim, tenant: str) -> None:
        self._api = sim.tenant_api(tenant)

    def push(self, labels: Mapping[str, str], entries: Iterable[tuple[int, str]]) -> None:
        self._api.ingest(labels, list(entries))


class TenantLokiSim(LokiSim):
    """``LokiSim`` with one store per tenant; requires ``X-Scope-OrgID`` by default."""

    def __init__(self, **settings: Any) -> None:
        self._request_tenant = threading.local()
        self._tenant_apis: dict[str, LokiApi] = {}
        self._template: LokiApi | None = None
        settings.setdefault("auth", Auth(org_id=True))
        super().__init__(**settings)

    @property  # type: ignore[override]
    def api(self) -> LokiApi:
        """The API of the tenant whose request this handler thread is serving."""
        tenant = getattr(self._request_tenant, "name", None)
        if tenant is None:
            assert self._template is not None
            return self._template
        return self.tenant_api(tenant)

    @api.setter
    def api(self, value: LokiApi) -> None:
        self._template = value  # LokiSim.__init__ builds it; tenants get copies of it

    def tenant_api(self, tenant: str) -> LokiApi:
        """The tenant's API over its own store (same limits, clock and settings)."""
        with self._lock:
            api = self._tenant_apis.get(tenant)
            if api is None:
                api = copy.copy(self._template)
                assert api is not None
                api.store = Store()
                self._tenant_apis[tenant] = api
            return api

    def as_tenant(self, tenant: str) -> TenantPusher:
        return TenantPusher(self, tenant)

    def _record(
        self, method: str, path: str, params: dict[str, list[str]], headers: dict[str, str]
    ) -> None:
        self._request_tenant.name = headers.get("x-scope-orgid") or None
        super()._record(method, path, params, headers)
