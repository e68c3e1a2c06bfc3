"""Imports, by role: `files` (reading, the card-number scan, staging with COPY), `sql` (shared SQL pieces),
one module per kind (`purchases`, `shoppers`, `loyalty`: the checks in SQL and the apply step) and `jobs`
(create, check, load, resume)."""

from imports.services.jobs import job_check, job_create, job_fail, job_load, job_map, job_preview, job_start
from merchants.services import audit_event_record

__all__ = [
    "audit_event_record",
    "job_check",
    "job_create",
    "job_fail",
    "job_load",
    "job_map",
    "job_preview",
    "job_start",
]
