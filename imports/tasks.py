"""Celery entry points of imports: take a job id, call one service, safe to run twice."""

from celery import shared_task
from django.db import DatabaseError

from core.errors import ApplicationError
from imports.models import ImportJob, ImportStatus
from imports.services.jobs import job_fail, job_load


@shared_task(acks_late=True)
def import_load(job_id: int) -> None:
    """Load a started import; a stopped one resumes where its last committed chunk ended."""
    job = ImportJob.all_merchants.filter(pk=job_id, status__in=[ImportStatus.LOADING, ImportStatus.FAILED]).first()
    if job is None:
        return
    try:
        job_load(job=job)
    except (ApplicationError, DatabaseError) as error:
        job_fail(job=job, message=str(error))
        raise
