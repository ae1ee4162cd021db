"""Who may open which console route: one table, checked by the middleware and by a test over every route."""

from __future__ import annotations

from typing import Final

from storage.models.console import Role

PUBLIC: Final[frozenset[Role]] = frozenset()  # no login needed
EVERYONE: Final = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
STAFF: Final = frozenset({Role.ADMIN, Role.MANAGER})
ADMINS: Final = frozenset({Role.ADMIN})

# Keyed by the route's canonical path inside the console app. A rep's scope inside EVERYONE pages is enforced by
# the services (a rep reads only their customers); this table says who may open the page at all.
ROUTE_ACCESS: Final[dict[str, frozenset[Role]]] = {
    "/console/login": PUBLIC,
    "/console/login/wecom": PUBLIC,  # WeCom web login: the redirect out and the code coming back
    "/console/login/wecom/callback": PUBLIC,
    "/console/static": PUBLIC,
    "/console/logout": EVERYONE,
    "/console/logout-everywhere": EVERYONE,
    "/console/": EVERYONE,
    "/console/groups": EVERYONE,
    "/console/customers": EVERYONE,
    "/console/customers/{id}": EVERYONE,
    "/console/tickets": EVERYONE,
    "/console/tickets/{id}/claim": EVERYONE,
    "/console/tickets/{id}/solve": EVERYONE,
    "/console/tickets/{id}/reopen": EVERYONE,
    "/console/tickets/{id}/reply": EVERYONE,  # an OA ticket the viewer can see; the service checks whose it is
    "/console/followups": EVERYONE,  # a rep sees only their own (services/service/followup_scope.py)
    "/console/followups/{id}/done": EVERYONE,
    "/console/segments": STAFF,
    "/console/segments/{id}": STAFF,
    "/console/segments/{id}/delete": STAFF,
    "/console/campaigns": STAFF,
    "/console/campaigns/{id}": STAFF,
    "/console/campaigns/{id}/pause": STAFF,
    "/console/campaigns/{id}/resume": STAFF,
    "/console/campaigns/{id}/cancel": STAFF,
    "/console/kb": STAFF,
    "/console/kb/promote": STAFF,
    "/console/kb/variant": STAFF,
    "/console/reports/{name}": STAFF,  # the service report counts every customer: not for reps
    # These count only the viewer's customers (services/reports/), so a rep may open them.
    "/console/reports": EVERYONE,  # redirects to the retention report (console/not_found.py)
    "/console/reports/retention": EVERYONE,
    "/console/reports/retention.csv": EVERYONE,
    "/console/reports/churn": EVERYONE,
    "/console/reports/churn.csv": EVERYONE,
    "/console/reports/clv": EVERYONE,
    "/console/reports/clv.csv": EVERYONE,
    "/console/reports/nps": EVERYONE,
    "/console/reports/nps.csv": EVERYONE,
    "/console/privacy": STAFF,
    "/console/privacy/{id}/export": STAFF,
    "/console/privacy/{id}/erase": STAFF,
    "/console/audit": ADMINS,
    "/console/users": ADMINS,
    "/console/users/{id}/disable": ADMINS,
    "/console/users/{id}/enable": ADMINS,
}
