"""Building blocks shared by the clinical records of every app.

Signing and amendments work the same way for evaluations, infusion sessions
and treatment summaries: ``ensure_unsigned`` is the one lock check every
service calls before it writes a record or one of its children. ``History``
keeps every version of a record.
"""

import functools

from django.conf import settings
from django.db import connection, models
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords

from ehr.database import insert_new
from ehr.errors import RecordLocked


class _HistoryManager(HistoryManager):
    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        # simple_history reaches a record's history (``record.history``, and on every
        # save, to write the new version) through a manager class it builds anew on
        # each access; the class is the same every time, so it is built once.
        return super().from_queryset(queryset_class, class_name)


class _AppendedVersion(models.Model):
    """A historical record's version: written once, when the record is saved, by one
    statement built once per connection (``ehr.database.insert_new``) instead of an
    INSERT compiled on every save. Anything else goes through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, using=None, **kwargs):
        plain = not args and not kwargs and using in (None, connection.alias)
        if plain and self._state.adding and self.pk is None:
            insert_new(self)
        else:
            super().save(*args, using=using, **kwargs)


class History(HistoricalRecords):
    """Every version of a record, with who changed it and when (django-simple-history)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("history_manager", _HistoryManager)
        kwargs.setdefault("bases", (_AppendedVersion,))
        super().__init__(*args, **kwargs)


class SignedRecord(models.Model):
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class Amendment(models.Model):
    """A correction appended to a signed record: author, time and text, never edited."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]


def ensure_unsigned(record, *, what: str | None = None) -> None:
    """Refuse (409) any change to a signed record or to a child of one."""
    if record.is_signed:
        label = what or record._meta.verbose_name
        raise RecordLocked(
            f"This {label} was signed on {record.signed_at:%Y-%m-%d %H:%M} and is locked. "
            "Add an amendment to correct it."
        )
