import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ehr import scale


class Command(BaseCommand):
    help = (
        "Generate a large synthetic clinic for performance work (docs/performance.md). "
        "--patients N (default 100000) scales everything: about 10 infusion sessions per "
        "patient and 10 vital-sign rows per session. Refuses when generated data is already "
        "there unless --clear. Accounts (password --password, default 'scale'): scale-admin, "
        "scale-prescriber, scale-nurse, scale-referrer. On PostgreSQL rows are written with "
        "COPY in one transaction; elsewhere with batched INSERTs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients", type=int, default=100_000, help="Patients to generate (default 100000)."
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed: same seed and size, same data."
        )
        parser.add_argument(
            "--chunk",
            type=int,
            default=2000,
            help="Patients generated and written per batch (default 2000).",
        )
        parser.add_argument(
            "--password", default=scale.DEFAULT_PASSWORD, help="Password of every account."
        )
        parser.add_argument(
            "--summaries",
            type=int,
            default=None,
            help="Signed, released treatment summaries with PDFs (default: patients / 1000).",
        )
        parser.add_argument(
            "--clear",
            action="store_true",
            help="Remove previously generated data first (refused once the audit trail "
            "names it: recreate the database then).",
        )
        parser.add_argument(
            "--extra-permission-rows",
            type=int,
            default=None,
            metavar="N",
            help="Then make deactivated filler accounts hold exactly N object permissions "
            "(see --extra-permission-kind); 0 removes them. Real users see the same.",
        )
        parser.add_argument(
            "--extra-permission-kind",
            choices=scale.FILLER_KINDS,
            default="summary",
            help="summary: receive_summary grants (the table a referrer's portal reads); "
            "care-team: care_for_patient grants. Default summary.",
        )
        parser.add_argument(
            "--permissions-only",
            action="store_true",
            help="Only set the filler permission rows on the data already generated.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        started = time.monotonic()
        if options["permissions_only"]:
            if options["extra_permission_rows"] is None:
                raise CommandError("--permissions-only needs --extra-permission-rows N.")
            self._fillers(options)
            return
        if options["patients"] < 1 or options["chunk"] < 1:
            raise CommandError("--patients and --chunk must be at least 1.")
        if scale.scale_data_exists():
            if not options["clear"]:
                raise CommandError(
                    "Generated scale data is already in this database. Run with --clear to "
                    "replace it, or --permissions-only to change only the filler permissions."
                )
            try:
                removed = scale.scale_clear()
            except scale.ScaleClearRefused as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Cleared {sum(removed.values())} generated rows.")
        report = scale.scale_generate(
            patients=options["patients"],
            seed=options["seed"],
            chunk=options["chunk"],
            password=options["password"],
            summaries=options["summaries"],
            progress=not options["no_progress"],
        )
        for name, seconds in report.phases.items():
            self.stdout.write(f"  {name}: {seconds:.1f} s")
        for table, rows in sorted(report.counts.items()):
            if rows:
                seconds = report.writing.get(table)
                writing = f" (written in {seconds:.1f} s)" if seconds is not None else ""
                self.stdout.write(f"  {table}: {rows} rows{writing}")
        if options["extra_permission_rows"] is not None:
            self._fillers(options)
        size = ""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
                size = f", database size {cursor.fetchone()[0]}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Scale data ready in {time.monotonic() - started:.1f} s{size}. Accounts: "
                f"{', '.join(scale.KNOWN_USERS)} (password {options['password']!r})."
            )
        )

    def _fillers(self, options):
        started = time.monotonic()
        try:
            rows = scale.filler_permissions_set(
                rows=options["extra_permission_rows"],
                kind=options["extra_permission_kind"],
                password=options["password"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Filler {options['extra_permission_kind']} permission rows: {rows} "
            f"({time.monotonic() - started:.1f} s)."
        )
