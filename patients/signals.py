"""Signals the patients app sends for other apps to act on, without it importing them."""

from django.dispatch import Signal

#: A referring provider's linked portal account changed (linked, relinked or unlinked).
#: Sent inside the transaction of ``patients.services.referring_provider_update``, with
#: keyword arguments ``provider``, ``old_user`` and ``new_user`` (either may be None)
#: and ``actor``. The reports app moves the provider's released summaries with it.
portal_account_changed = Signal()
