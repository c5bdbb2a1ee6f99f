import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

from ehr.seed import seed_users

# Each app adds its demo records in its own ``seed`` module: seed(users=..., stdout=...).
APP_SEEDERS = ["patients.seed", "sessions.seed", "reports.seed"]


class Command(BaseCommand):
    help = "Create demo users (admin, prescriber, nurse, referrer) and demo clinical records."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo", help="Password for every demo user.")

    def handle(self, *args, password, **options):
        with transaction.atomic():
            users = seed_users(password=password)
            for module_name in APP_SEEDERS:
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError as exc:
                    if exc.name != module_name:
                        raise
                    continue
                module.seed(users=users, stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready. Users: {', '.join(users)} (password: {password!r})."
            )
        )
