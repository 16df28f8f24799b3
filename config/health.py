"""GET /healthz: is the database answering, is the Celery broker reachable?

200 {"database": "ok", "broker": "ok", "matching": ...} when both are; 503 with the failing part(s) named
otherwise, e.g. {"database": "ok", "broker": "error: OperationalError", ...}. The details go to the log.
"matching" says whether entries are matched by the rules and the learned model, or by the rules alone
and why (no sentence encoder on this platform, no active model); it never makes the check fail.

`python -m config.health` is the probe the compose file's health check runs inside the web container: it
asks http://127.0.0.1:8000/healthz with a Host header taken from ALLOWED_HOSTS (Django refuses any other
host name) and exits 0 only on a 200.
"""

import logging
import os
import sys
import urllib.error
import urllib.request

from django.http import JsonResponse
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

BROKER_TIMEOUT = 3  # seconds: a health check must answer before the compose probe gives up


def check_database():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker():
    from config.celery_app import app

    # Timeouts on connecting and on every reply: a broker that accepts the connection and then stays
    # silent fails the check instead of hanging it (the options are ignored by transports without sockets).
    timeouts = {"socket_connect_timeout": BROKER_TIMEOUT, "socket_timeout": BROKER_TIMEOUT}
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT, transport_options=timeouts) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)


CHECKS = {"database": check_database, "broker": check_broker}


def _matching() -> str:
    """ "rules + learned model" or "rules only: <why>" (the sentence encoder or the model is missing)."""
    try:
        from indicators.matching.versions import matching_mode

        mode = matching_mode()
    except Exception as exc:  # noqa: BLE001 - a broken database is reported by its own check above
        return f"unknown ({type(exc).__name__})"
    return mode["mode"] if mode["learned"] else f"{mode['mode']}: {mode['why']}"


def run_checks():
    """{name: "ok" | "error: <ExceptionClass>"} for every check."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer: reported, logged, not hidden
            log.warning("healthz: %s check failed: %s: %s", name, type(exc).__name__, exc)
            results[name] = f"error: {type(exc).__name__}"
        else:
            results[name] = "ok"
    return results


@require_safe
def healthz(request):
    results = run_checks()
    healthy = all(value == "ok" for value in results.values())
    results["matching"] = _matching()  # informative: matching on rules alone is not a failure
    response = JsonResponse(results, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


# --- Probe for the container health check (standard library only) -------------------------------------


def probe_host(allowed_hosts):
    """A host name Django accepts, from ALLOWED_HOSTS' value: '.example.org' becomes 'example.org'."""
    for host in (h.strip() for h in allowed_hosts.split(",")):
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


def probe(url="http://127.0.0.1:8000/healthz", allowed_hosts=None, timeout=10):
    """Exit status for a health check: 0 when `url` answers 200, 1 otherwise (with the reason)."""
    if allowed_hosts is None:
        allowed_hosts = os.environ.get("ALLOWED_HOSTS", "")
    if not url.startswith(("http://", "https://")):
        print(f"{url}: only http:// and https:// URLs can be probed", file=sys.stderr)
        return 2
    request = urllib.request.Request(url, headers={"Host": probe_host(allowed_hosts)})  # noqa: S310 - checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked above
            print(response.read().decode(errors="replace"))
            return 0
    except urllib.error.HTTPError as exc:
        print(f"{url}: HTTP {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(probe(*sys.argv[1:2]))
