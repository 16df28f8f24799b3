"""CI runs the whole suite on PostgreSQL: make sure it really does."""

import os

import pytest
from django.db import connection

from tests.conftest import require_service


@pytest.mark.services
def test_suite_runs_on_postgresql_under_ci(db):
    on_pg = connection.vendor == "postgresql"
    require_service(
        on_pg or not os.environ.get("REQUIRE_SERVICES"),
        "REQUIRE_SERVICES=1 needs DATABASE_URL=postgres://...",
    )
    if not on_pg:
        pytest.skip("running on SQLite (set DATABASE_URL=postgres://... to run the suite on PostgreSQL)")
    with connection.cursor() as cur:
        cur.execute("select version()")
        assert "PostgreSQL" in cur.fetchone()[0]
