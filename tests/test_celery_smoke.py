"""A real Celery worker over real Redis runs a task against the test database."""

import pytest


@pytest.mark.services
def test_a_real_worker_runs_a_task_and_sees_the_database(celery_worker):
    from indicators.tasks import healthcheck

    result = healthcheck.delay()
    assert result.get(timeout=60) == {"indicators": 16}
