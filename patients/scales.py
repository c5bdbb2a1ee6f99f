"""Rating scales: the instruments, their item rules, totals and severity bands.

Every total and band the application shows (API, web pages, PDF) comes from
``score``; nothing else computes them.
"""

from __future__ import annotations

from django.db import models


class Instrument(models.TextChoices):
    GAD7 = "GAD7", "GAD-7"
    PHQ9 = "PHQ9", "PHQ-9"
    PCL5 = "PCL5", "PCL-5"
    CADSS = "CADSS", "CADSS"
    CADSS6 = "CADSS6", "CADSS-6"
