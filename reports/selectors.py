"""The access functions for treatment summaries.

- clinicians reach the summaries of the patients whose clinical records they
  may read (care team, or break-the-glass while it lasts);
- a referring provider reaches only the summaries released to them: the
  ``receive_summary`` object permission given at release;
- anyone else reaches none. ``summary_get_for_user`` answers 404 for what the
  user may not see.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from ehr.grants import own_grant_ids
from ehr.roles import Capability, can
from patients.selectors import scoped_to_clinical_patients
from reports.models import (
    RELEASED_SUMMARY_PERMISSION,
    TreatmentSummary,
    TreatmentSummaryUserObjectPermission,
)

#: The people and provider named on a summary, joined for pages that print their names.
#: Four more joins make PostgreSQL plan the list far longer than it runs it, so the
#: API, which gives their ids only, leaves them out.
_PEOPLE = ("requested_by", "signed_by", "released_by", "released_to")


def released_summaries_for_user(*, user) -> QuerySet[TreatmentSummary]:
    """Summaries released to this portal user (their own object permission only)."""
    ids = own_grant_ids(
        user=user,
        grant_model=TreatmentSummaryUserObjectPermission,
        codename=RELEASED_SUMMARY_PERMISSION,
    )
    return TreatmentSummary.objects.filter(pk__in=ids)


def summary_list_for_user(*, user, people: bool = True) -> QuerySet[TreatmentSummary]:
    """The summaries the user may see, newest first; with ``people``, their patient and
    the people named on them joined (pages print their names; the API shows their ids,
    which are on the row)."""
    if can(user, Capability.VIEW_SUMMARIES):
        queryset = scoped_to_clinical_patients(TreatmentSummary.objects.all(), user=user)
    elif can(user, Capability.VIEW_RELEASED_SUMMARIES):
        queryset = released_summaries_for_user(user=user)
    else:
        return TreatmentSummary.objects.none()
    related = ("patient", *_PEOPLE) if people else ()
    # The content snapshot (the whole record as drawn, tens of kilobytes) is read only by
    # the services that draw it, which load the row themselves; listing 50 summaries
    # would otherwise decode 50 snapshots.
    return queryset.select_related(*related).defer("content").order_by("-created_at", "-id")


def summary_get_for_user(*, user, pk) -> TreatmentSummary:
    """One summary the user may see, or 404."""
    try:
        return summary_list_for_user(user=user).get(pk=int(pk))
    except (ValueError, TypeError, TreatmentSummary.DoesNotExist):
        raise Http404("No such treatment summary.") from None


def summary_list_for_patient(*, user, patient) -> QuerySet[TreatmentSummary]:
    """A patient's summaries the user may see (for the chart and the portal)."""
    return summary_list_for_user(user=user).filter(patient=patient)
