import io

import pytest

from imports.models import ImportStatus
from imports.services.jobs import job_check, job_create, job_load, job_start


@pytest.fixture(autouse=True)
def _slow_only_when_selected(request):
    """A test marked slow runs with `-m slow` only; the default run keeps its smaller twin."""
    if request.node.get_closest_marker("slow") and "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("large data: run with -m slow")


@pytest.fixture
def run_import(merchant, owner):
    """Upload, check and (if the check passes) load a file, as Settings → Import does."""

    def run(data: bytes, *, kind="purchases", template=None, load=True, award_points=False, name="history.csv"):
        job = job_create(
            merchant=merchant,
            actor=owner,
            kind=kind,
            upload=io.BytesIO(data),
            file_name=name,
            template=template,
            award_points=award_points,
        )
        job = job_check(job=job)
        if load and job.status == ImportStatus.CHECKED:
            job = job_start(job=job, actor=owner)
            job = job_load(job=job)
        return job

    return run
