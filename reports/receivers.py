"""What the reports app does when other apps signal a change."""

from django.dispatch import receiver

from patients.signals import portal_account_changed
from reports import services


@receiver(portal_account_changed, dispatch_uid="reports.released_summaries_follow_the_link")
def _released_summaries_follow_the_link(sender, *, provider, old_user, new_user, actor, **kwargs):
    services.released_summaries_move(
        actor=actor, provider=provider, old_user=old_user, new_user=new_user
    )
