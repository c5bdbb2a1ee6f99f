"""Deployment checks of our own (``manage.py check --deploy``): the Content-Security-Policy.

django-csp checks the shape of its settings; these check that the policy is sent
at all and that it still forbids inline and evaluated script.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

_UNSAFE_SCRIPT = {"'unsafe-inline'", "'unsafe-eval'", "*"}


@register(Tags.security, deploy=True)
def content_security_policy_check(app_configs=None, **kwargs) -> list[Warning]:
    problems = []
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE:
        problems.append(
            Warning(
                "No Content-Security-Policy header is sent.",
                hint="Add csp.middleware.CSPMiddleware to MIDDLEWARE.",
                id="ehr.W001",
            )
        )
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES", {})
    script_src = directives.get("script-src") or directives.get("default-src") or []
    if not script_src or _UNSAFE_SCRIPT & set(script_src):
        problems.append(
            Warning(
                "The Content-Security-Policy does not restrict scripts to this origin "
                f"(script-src {' '.join(script_src) or 'unset'}).",
                hint="Keep script-src 'self' without 'unsafe-inline' or 'unsafe-eval'.",
                id="ehr.W002",
            )
        )
    return problems
