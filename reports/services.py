"""Writes to treatment summaries: request, generate, sign, release, and the sweep.

Lifecycle: ``queued`` -> ``generating`` -> ``ready`` | ``failed``.

Generation is built to survive a Celery worker that dies, a message delivered
twice and a database that blinks:

- the request row is created first and the task is enqueued only after that
  transaction commits, with the summary's id as its only argument;
- ``summary_generate`` takes a *lease* on the row (``select_for_update``): only
  the holder of a live lease builds the PDF, a summary that is ``ready`` or
  ``failed`` is never built again, and the result is stored only if the lease
  is still the builder's — so one request never gets two documents;
- every lease taken counts as an attempt; after ``SUMMARY_MAX_ATTEMPTS`` the
  summary fails with a reason instead of looping;
- transient errors (database, storage) give the lease back and are retried by
  the task with exponential backoff;
- ``summaries_requeue_stuck`` (Celery beat, every minute) re-enqueues summaries
  left ``queued`` too long and takes back leases older than
  ``SUMMARY_LEASE_MINUTES``.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from functools import partial
from io import BytesIO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import OperationalError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm
from pypdf import PdfReader

from ehr.audit import audit_record
from ehr.errors import ConflictingState, NotAllowed, RuleViolation
from ehr.models import AuditAction
from ehr.records import ensure_unsigned
from ehr.roles import Capability, can
from patients.models import Patient, ReferringProvider
from reports.content import SummaryNotBuildable, summary_content
from reports.document import render_summary
from reports.models import RELEASED_SUMMARY_PERMISSION, TreatmentSummary

logger = logging.getLogger(__name__)

#: Errors worth retrying: the database or the storage may answer next time.
TRANSIENT_ERRORS = (OperationalError, OSError)


class TransientGenerationError(Exception):
    """A generation attempt hit a temporary problem; the task retries it."""


# --- Request --------------------------------------------------------------------------


def _ensure_on_care_team(*, actor, patient: Patient, doing: str) -> None:
    # Break-the-glass opens a record for reading; summaries leave the clinic, so
    # requesting, signing and releasing one needs a place on the care team.
    from patients.selectors import care_team_patients

    if not care_team_patients(user=actor).filter(pk=patient.pk).exists():
        raise NotAllowed(f"Only a prescriber on the patient's care team may {doing} a summary.")


def summary_request(
    *,
    actor,
    patient: Patient,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    comment: str = "",
    enqueue: bool = True,
) -> TreatmentSummary:
    """Record a request for a patient's treatment summary and queue its generation.

    The caller reached ``patient`` through ``patients.selectors.clinical_patient_get``.
    The generation task is sent only once this transaction has committed;
    ``enqueue=False`` leaves the summary queued for a direct ``summary_generate``.
    """
    if not can(actor, Capability.REQUEST_SUMMARIES):
        raise NotAllowed("Only a prescriber may request a treatment summary.")
    _ensure_on_care_team(actor=actor, patient=patient, doing="request")
    if period_start and period_end and period_end < period_start:
        raise RuleViolation(
            f"The period ends ({period_end:%Y-%m-%d}) before it starts ({period_start:%Y-%m-%d}).",
            field="period_end",
        )
    with transaction.atomic():
        summary = TreatmentSummary.objects.create(
            patient=patient,
            requested_by=actor,
            period_start=period_start,
            period_end=period_end,
            comment=comment,
            status=TreatmentSummary.Status.QUEUED,
            enqueued_at=timezone.now(),
        )
        if enqueue:
            _enqueue_on_commit(summary.pk)
    return summary


def _enqueue_on_commit(summary_id: int) -> None:
    """Send the generation task once the current transaction has committed.

    A broker that cannot be reached does not undo the request: the summary
    stays queued and the sweep sends it again.
    """
    transaction.on_commit(partial(_send_generation_task, summary_id))


def _send_generation_task(summary_id: int) -> None:
    from reports.tasks import generate_summary

    try:
        generate_summary.delay(summary_id)
    except Exception:
        logger.exception("Summary %s could not be enqueued; the sweep will retry.", summary_id)


# --- Generation -------------------------------------------------------------------------


def _lease_minutes() -> int:
    return settings.SUMMARY_LEASE_MINUTES


def _fail(summary: TreatmentSummary, reason: str) -> None:
    summary.status = TreatmentSummary.Status.FAILED
    summary.error = reason[:2000]
    summary.generating_since = None
    summary.generating_task_id = ""
    summary.save(update_fields=["status", "error", "generating_since", "generating_task_id"])


def _take_lease(summary_id: int, task_id: str, now) -> TreatmentSummary | None:
    """Lock the row and make this attempt its builder, or None when there is nothing to do."""
    with transaction.atomic():
        # The row lock serialises workers that received the same request twice.
        summary = (
            TreatmentSummary.objects.select_for_update(of=("self",))
            .select_related("requested_by")  # whose access reads the records
            .filter(pk=summary_id)
            .first()
        )
        if summary is None:
            logger.warning("Treatment summary %s no longer exists; nothing to build.", summary_id)
            return None
        if summary.status in (TreatmentSummary.Status.READY, TreatmentSummary.Status.FAILED):
            return None
        if summary.status == TreatmentSummary.Status.GENERATING:
            lease_alive = summary.generating_since and summary.generating_since > now - (
                datetime.timedelta(minutes=_lease_minutes())
            )
            # A redelivery of the task holding the lease means that attempt died.
            if lease_alive and not (task_id and task_id == summary.generating_task_id):
                return None
        if summary.attempts >= settings.SUMMARY_MAX_ATTEMPTS:
            last = f" Last problem: {summary.error}" if summary.error else ""
            _fail(
                summary,
                f"The PDF could not be built after {summary.attempts} attempts; request a new "
                f"summary, and tell the practice manager if it fails again.{last}",
            )
            return None
        summary.status = TreatmentSummary.Status.GENERATING
        summary.attempts += 1
        summary.generating_since = now
        summary.generating_task_id = task_id or ""
        summary.save(update_fields=["status", "attempts", "generating_since", "generating_task_id"])
        return summary


def _give_lease_back(summary_id: int, lease_since, reason: str) -> None:
    with transaction.atomic():
        summary = TreatmentSummary.objects.select_for_update().filter(pk=summary_id).first()
        if summary is None or summary.generating_since != lease_since:
            return
        summary.status = TreatmentSummary.Status.QUEUED
        summary.error = reason[:2000]
        summary.generating_since = None
        summary.generating_task_id = ""
        summary.enqueued_at = timezone.now()
        summary.save(
            update_fields=[
                "status",
                "error",
                "generating_since",
                "generating_task_id",
                "enqueued_at",
            ]
        )


def _fail_if_leased(summary_id: int, lease_since, reason: str) -> None:
    with transaction.atomic():
        summary = TreatmentSummary.objects.select_for_update().filter(pk=summary_id).first()
        if summary is not None and summary.generating_since == lease_since:
            _fail(summary, reason)


def pdf_page_count(data: bytes) -> int:
    return len(PdfReader(BytesIO(data)).pages)


def store_summary_pdf(summary: TreatmentSummary, data: bytes, *, signed: bool) -> str | None:
    """Write the PDF to private storage under the summary's own name; returns the old name.

    The name comes from the document id (no patient data in storage keys); a
    leftover file under that name (an attempt that died after writing) is
    replaced, never kept beside the new one.
    """
    old_name = summary.pdf.name or None
    suffix = "-signed" if signed else ""
    name = f"treatment-summary-{summary.document_id}{suffix}.pdf"
    target = summary.pdf.field.generate_filename(summary, name)
    if summary.pdf.storage.exists(target):
        summary.pdf.storage.delete(target)
    summary.pdf.save(name, ContentFile(data), save=False)
    summary.sha256 = hashlib.sha256(data).hexdigest()
    summary.page_count = pdf_page_count(data)
    return old_name if old_name != summary.pdf.name else None


def summary_generate(*, summary_id: int, task_id: str = "") -> TreatmentSummary | None:
    """Build and store the PDF of a queued summary (idempotent; safe to call twice).

    Returns the summary when this call finished it (ready or failed), None when
    there was nothing to do. Raises ``TransientGenerationError`` after giving
    the lease back when the database or the storage failed for now.
    """
    now = timezone.now()
    summary = _take_lease(summary_id, task_id, now)
    if summary is None:
        return None
    lease_since = summary.generating_since
    try:
        content = summary_content(summary=summary)
        _audit_records_read(summary)
        data = render_summary(content)
    except SummaryNotBuildable as exc:
        _fail_if_leased(summary_id, lease_since, str(exc))
        return _reload(summary_id)
    except TRANSIENT_ERRORS as exc:
        _give_lease_back(summary_id, lease_since, f"Temporary problem, retrying: {exc}")
        raise TransientGenerationError(str(exc)) from exc
    except SoftTimeLimitExceeded:
        _fail_if_leased(
            summary_id,
            lease_since,
            "Building the PDF took too long and was stopped. Request a summary for a "
            "shorter period.",
        )
        return _reload(summary_id)
    except Exception as exc:
        logger.exception("Treatment summary %s could not be built.", summary_id)
        _fail_if_leased(
            summary_id, lease_since, f"The PDF could not be built: {type(exc).__name__}: {exc}"
        )
        return _reload(summary_id)

    try:
        with transaction.atomic():
            summary = TreatmentSummary.objects.select_for_update().get(pk=summary_id)
            if (
                summary.status != TreatmentSummary.Status.GENERATING
                or summary.generating_since != lease_since
            ):
                # Another attempt took over (our lease had expired): its result stands.
                return None
            old_name = store_summary_pdf(summary, data, signed=False)
            summary.content = content
            summary.status = TreatmentSummary.Status.READY
            summary.error = ""
            summary.generated_at = timezone.now()
            summary.generating_since = None
            summary.generating_task_id = ""
            summary.save()
            if old_name:
                transaction.on_commit(lambda: summary.pdf.storage.delete(old_name))
    except TRANSIENT_ERRORS as exc:
        _give_lease_back(summary_id, lease_since, f"Temporary problem, retrying: {exc}")
        raise TransientGenerationError(str(exc)) from exc
    return summary


def _audit_records_read(summary: TreatmentSummary) -> None:
    """The attempt has read the patient's record into the snapshot: a read by the requester.

    Recorded once per attempt that read (normally one per summary); an attempt
    that found nothing to do, or was refused the records, read nothing.
    """
    audit_record(
        action=AuditAction.VIEW,
        user=summary.requested_by,
        obj=summary,
        detail=f"records read to build the treatment summary (attempt {summary.attempts})",
    )


def _reload(summary_id: int) -> TreatmentSummary | None:
    return TreatmentSummary.objects.filter(pk=summary_id).first()


def summary_give_up(*, summary_id: int, reason: str) -> None:
    """Fail a summary whose task has run out of retries (unless it finished meanwhile)."""
    with transaction.atomic():
        summary = TreatmentSummary.objects.select_for_update().filter(pk=summary_id).first()
        if summary is not None and summary.status in (
            TreatmentSummary.Status.QUEUED,
            TreatmentSummary.Status.GENERATING,
        ):
            _fail(summary, reason)


# --- The sweep ----------------------------------------------------------------------------


def summaries_requeue_stuck(*, now=None) -> int:
    """Re-enqueue summaries queued too long ago or generating past their lease.

    Returns how many were re-enqueued. Duplicate messages are harmless: the
    lease in ``summary_generate`` lets only one attempt build.
    """
    now = now or timezone.now()
    queued_before = now - datetime.timedelta(minutes=settings.SUMMARY_QUEUED_GRACE_MINUTES)
    lease_before = now - datetime.timedelta(minutes=_lease_minutes())
    requeued = 0
    with transaction.atomic():
        stuck_queued = TreatmentSummary.objects.select_for_update(skip_locked=True).filter(
            status=TreatmentSummary.Status.QUEUED, enqueued_at__lt=queued_before
        )
        stuck_generating = TreatmentSummary.objects.select_for_update(skip_locked=True).filter(
            status=TreatmentSummary.Status.GENERATING, generating_since__lt=lease_before
        )
        for summary in list(stuck_queued) + list(stuck_generating):
            summary.status = TreatmentSummary.Status.QUEUED
            summary.generating_since = None
            summary.generating_task_id = ""
            summary.enqueued_at = now
            summary.save(
                update_fields=["status", "generating_since", "generating_task_id", "enqueued_at"]
            )
            _enqueue_on_commit(summary.pk)
            requeued += 1
    if requeued:
        logger.info("Re-enqueued %d stuck treatment summaries.", requeued)
    return requeued


# --- Sign and release ------------------------------------------------------------------


def _locked(summary: TreatmentSummary) -> TreatmentSummary:
    return (
        TreatmentSummary.objects.select_for_update(of=("self",))
        .select_related("patient", "patient__referring_provider__user")
        .get(pk=summary.pk)
    )


def signature_of(summary: TreatmentSummary) -> dict | None:
    """What the signature block prints, or None while unsigned."""
    if not summary.is_signed:
        return None
    signer = summary.signed_by
    name = signer.get_full_name() or signer.get_username()
    at = timezone.localtime(summary.signed_at)
    return {"name": name, "at": f"{at:%Y-%m-%d %H:%M %Z}"}


def summary_sign(*, actor, summary: TreatmentSummary) -> TreatmentSummary:
    """Sign a ready summary: the PDF is re-drawn from the same content with the signature.

    The document id stays; SHA-256 and page count become those of the signed
    PDF, which replaces the draft in storage.
    """
    if not can(actor, Capability.SIGN_RECORDS):
        raise NotAllowed("Only a prescriber may sign a treatment summary.")
    with transaction.atomic():
        summary = _locked(summary)
        _ensure_on_care_team(actor=actor, patient=summary.patient, doing="sign")
        ensure_unsigned(summary, what="treatment summary")
        if not summary.is_ready:
            raise ConflictingState(
                f"The summary is {summary.status}; only a ready summary can be signed."
            )
        summary.signed_at = timezone.now()
        summary.signed_by = actor
        data = render_summary(summary.content, signature=signature_of(summary))
        old_name = store_summary_pdf(summary, data, signed=True)
        new_name = summary.pdf.name
        try:
            summary.save()
        except Exception:
            summary.pdf.storage.delete(new_name)
            raise
        if old_name:
            transaction.on_commit(lambda: summary.pdf.storage.delete(old_name))
    return summary


def summary_release(*, actor, summary: TreatmentSummary, notify: bool = True) -> TreatmentSummary:
    """Release a signed summary to the patient's referring provider.

    Grants the provider's portal user the object permission to the summary
    and, after commit, emails a link without any health information
    (``notify=False``: no email, for demo data).
    """
    if not can(actor, Capability.RELEASE_SUMMARIES):
        raise NotAllowed("Only a prescriber may release a treatment summary.")
    with transaction.atomic():
        summary = _locked(summary)
        _ensure_on_care_team(actor=actor, patient=summary.patient, doing="release")
        if not summary.is_signed:
            raise ConflictingState("Sign the summary before releasing it.")
        if summary.is_released:
            raise ConflictingState(
                f"This summary was already released on "
                f"{timezone.localtime(summary.released_at):%Y-%m-%d %H:%M}."
            )
        if summary.patient.referring_provider_id is None:
            raise RuleViolation(
                "This patient has no referring provider on file; add one before releasing."
            )
        # Lock the provider: a portal account relinked at this moment must either see this
        # release and move it, or be the account it is released to.
        provider = (
            ReferringProvider.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=summary.patient.referring_provider_id)
        )
        recipient = provider.user
        if recipient is None or not recipient.is_active:
            raise RuleViolation(
                f"{provider.name} has no active portal account linked; ask the practice "
                "manager to link one before releasing the summary."
            )
        summary.released_at = timezone.now()
        summary.released_by = actor
        summary.released_to = provider
        summary.save(update_fields=["released_at", "released_by", "released_to"])
        assign_perm(f"reports.{RELEASED_SUMMARY_PERMISSION}", recipient, summary)
        address = provider.email or recipient.email
        if notify and address:
            transaction.on_commit(
                lambda: _notify_release(summary_id=summary.pk, name=provider.name, to=address)
            )
        elif notify:
            logger.warning("Summary %s released to a provider without an email.", summary.pk)
    return summary


def released_summaries_move(*, actor, provider: ReferringProvider, old_user, new_user) -> int:
    """Move the summaries released to ``provider`` from its old portal account to its new one.

    Released summaries belong to the provider, not to an account: ``old_user``
    (if any) loses the ``receive_summary`` permission on each of them and
    ``new_user`` (if any) gains it. Each summary's change is audited as
    ``permission_change``. Runs in the caller's transaction, which holds the
    provider's row lock (``patients.services.referring_provider_update``).
    Returns how many summaries moved.
    """
    permission = f"reports.{RELEASED_SUMMARY_PERMISSION}"
    summaries = TreatmentSummary.objects.filter(released_to=provider).select_related("patient")
    if old_user is not None:
        remove_perm(permission, old_user, summaries)
    if new_user is not None:
        assign_perm(permission, new_user, summaries)
    change = _portal_change_in_words(old_user, new_user)
    moved = 0
    for summary in summaries.order_by("id"):
        audit_record(
            action=AuditAction.PERMISSION_CHANGE,
            user=actor,
            obj=summary,
            detail=f"released summary of provider {provider.pk}: {change}",
        )
        moved += 1
    return moved


def _portal_change_in_words(old_user, new_user) -> str:
    def account(user) -> str:
        return f"portal account {user.get_username()} (user {user.pk})"

    if old_user is None:
        return f"granted to {account(new_user)}"
    if new_user is None:
        return f"revoked from {account(old_user)}"
    return f"moved from {account(old_user)} to {account(new_user)}"


def release_link(summary_id: int) -> str:
    """Where the referring provider reads a released summary: the portal, else the API."""
    try:
        path = reverse("frontend:portal")
    except NoReverseMatch:
        path = reverse("api:summary-detail", args=[summary_id])
    return f"{settings.SITE_URL}{path}"


def _notify_release(*, summary_id: int, name: str, to: str) -> None:
    # Only the provider's own name, the clinic and a link: no patient, no diagnosis.
    body = (
        f"Dear {name},\n\n"
        f"{settings.CLINIC_NAME} has released a treatment summary to you.\n"
        f"Sign in to the referring provider portal to read it:\n\n"
        f"{release_link(summary_id)}\n\n"
        "For privacy this message contains no patient information.\n"
        f"{settings.CLINIC_NAME} · {settings.CLINIC_PHONE}\n"
    )
    try:
        send_mail(
            subject="A treatment summary is available",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[to],
        )
    except Exception:
        # The release stands and the summary is in the portal; the notice is logged.
        logger.exception("Release notification for summary %s could not be sent.", summary_id)
