"""Demo accounts, one per role. Idempotent: a second run changes only a new password."""

from ehr.models import User
from ehr.roles import Role

DEMO_USERS = {
    "admin": dict(
        role=Role.ADMIN, first_name="Maya", last_name="Okafor", email="admin@clinic.invalid"
    ),
    "prescriber": dict(
        role=Role.PRESCRIBER, first_name="Daniel", last_name="Reyes", email="dreyes@clinic.invalid"
    ),
    "nurse": dict(
        role=Role.NURSE, first_name="Siobhán", last_name="Kelly", email="skelly@clinic.invalid"
    ),
    "referrer": dict(
        role=Role.REFERRING_PROVIDER,
        first_name="Amara",
        last_name="Nwosu",
        email="anwosu@harborfamilymed.invalid",
    ),
}


def seed_users(*, password: str, extra: dict | None = None) -> dict[str, User]:
    """Create (or update) the demo users; returns them by username."""
    users = {}
    for username, fields in {**DEMO_USERS, **(extra or {})}.items():
        user, _ = User.objects.update_or_create(
            username=username, defaults={**fields, "is_active": True}
        )
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])  # ends the user's API tokens
        users[username] = user
    return users
