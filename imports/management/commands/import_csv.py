"""`manage.py import_csv --merchant SLUG --kind purchases FILE`: the same import as Settings → Import, for large files.

Checks the file (every row error is printed, nothing written), then loads it unless `--dry-run`.
`--resume JOB_ID` continues a load that stopped.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from imports.mappings import CUSTOM, TEMPLATES
from imports.models import ImportJob, ImportKind, ImportRowError, ImportStatus
from imports.services.jobs import job_check, job_create, job_load, job_start
from merchants.models import Merchant, User


class Command(BaseCommand):
    help = "Import shoppers, loyalty balances or purchase history from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--merchant", required=True, help="the merchant's short name (slug)")
        parser.add_argument("--kind", choices=ImportKind.values, default=ImportKind.PURCHASES)
        parser.add_argument("--template", choices=[*TEMPLATES, CUSTOM], help="default: recognised from the columns")
        parser.add_argument("--user", help="email of the staff member the import is recorded for")
        parser.add_argument("--award-points", action="store_true", help="imported purchases earn points")
        parser.add_argument("--phone-region", default="", help="country of phone numbers without a country code (US)")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--resume", type=int, help="id of a stopped import to continue")

    def handle(self, *args: object, **options: object) -> None:
        merchant = Merchant.objects.filter(slug=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"No merchant {options['merchant']}.")
        actor = User.objects.filter(email=options["user"]).first() if options["user"] else None
        try:
            if options["resume"]:
                job = ImportJob.objects.get(merchant=merchant, pk=options["resume"])
            else:
                path = options["file"]
                if not isinstance(path, Path) or not path.is_file():
                    raise CommandError("Give the CSV file to import.")
                with path.open("rb") as upload:
                    job = job_create(
                        merchant=merchant,
                        actor=actor,
                        kind=str(options["kind"]),
                        upload=upload,
                        file_name=path.name,
                        template=options["template"],  # type: ignore[arg-type]
                        award_points=bool(options["award_points"]),
                        phone_region=str(options["phone_region"]),
                    )
                self.stdout.write(f"Import {job.pk}: {job.total_rows} rows, columns mapped as {job.template}.")
                job = job_check(job=job)
                if job.status == ImportStatus.INVALID:
                    for error in ImportRowError.objects.filter(merchant=merchant, job=job).order_by("line", "id"):
                        self.stdout.write(f"row {error.line}, {error.column}: {error.message}")
                    raise CommandError(f"{job.error_count} rows need fixing; nothing was imported.")
                if options["dry_run"]:
                    self.stdout.write(f"Dry run: {job.total_rows} rows are ready; nothing was written.")
                    return
            job = job_start(job=job, actor=actor)
            job = job_load(job=job)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Imported: {job.created_count} new of {job.total_rows} rows ({job.error_count} errors).")
