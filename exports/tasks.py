"""Celery entry points for exports: take ids, call one service."""

from celery import shared_task

from exports import services


@shared_task(name="exports.run_export")
def run_export(job_id: int) -> int | None:
    """Write one background export's file; the rows written, or None when another run has it or it is gone."""
    job = services.export_job_run(job_id=job_id)
    return job.rows_written if job is not None else None


@shared_task(name="exports.expire_files")
def expire_files() -> int:
    """Periodic: delete export files older than seven days."""
    return services.export_files_expire()
