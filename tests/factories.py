"""factory_boy factories for the records every part of the suite needs."""

import datetime
import random

import factory
from django.utils import timezone

from ehr.models import User
from ehr.roles import Role
from patients.models import Patient, ReferringProvider
from patients.npi import npi_check_digit
from patients.services import care_team_grant


def earlier_today(*, minutes: int) -> datetime.datetime:
    """``minutes`` ago, but not before the clinic's midnight: a session "scheduled half an
    hour ago" stays on today's board, and its readings on its day, whatever the hour
    the suite runs."""
    midnight = datetime.datetime.combine(timezone.localdate(), datetime.time.min)
    return max(timezone.now() - datetime.timedelta(minutes=minutes), timezone.make_aware(midnight))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.invalid")
    role = Role.NURSE
    password = factory.django.Password("correct horse battery staple")


def valid_npi(seed: int | None = None) -> str:
    rng = random.Random(seed)
    first_nine = "1" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    return first_nine + str(npi_check_digit(first_nine))


class ReferringProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferringProvider

    name = factory.Faker("name")
    npi = factory.Sequence(lambda n: valid_npi(n))
    practice = "Harbor Family Medicine"
    email = factory.Sequence(lambda n: f"referrer{n}@practice.invalid")
    phone = "(207) 555-0100"
    fax = "(207) 555-0101"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = datetime.date(1986, 4, 12)
    sex = Patient.Sex.FEMALE
    primary_diagnosis = "F41.1"
    status = Patient.Status.ACTIVE
    referring_provider = factory.SubFactory(ReferringProviderFactory)

    @factory.post_generation
    def care_team(self, create, extracted, **kwargs):
        """``PatientFactory(care_team=[nurse, prescriber])`` grants the object permission."""
        for user in extracted or []:
            care_team_grant(patient=self, user=user)


def aware(year, month, day, hour=9, minute=0):
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))
