"""Every ``/api/v1/`` route, from the URL resolver and from the OpenAPI schema.

Tests that must cover each endpoint enumerate them here, so an endpoint added
later is covered without anyone remembering to list it.
"""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")


def api_views(resolver=None, prefix=""):
    """``(route, view class)`` of every URL pattern under ``/api/v1/``."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_views(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith(API_PREFIX):
            yield route, getattr(pattern.callback, "cls", None)


def _api_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_patterns(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith(API_PREFIX):
            yield route, pattern.callback


def _as_schema_path(route: str) -> str:
    """``api/v1/^patients/(?P<pk>[^/.]+)/$`` -> ``/api/v1/patients/{id}/`` (as drf-spectacular)."""
    path = re.sub(
        r"\(\?P<(\w+)>[^)]*\)", lambda m: "{" + ("id" if m[1] == "pk" else m[1]) + "}", route
    )
    return "/" + path.replace("^", "").replace("$", "")


def resolver_operations() -> set[tuple[str, str]]:
    """``(METHOD, schema path)`` of every method an ``/api/v1/`` view answers (not HEAD/OPTIONS)."""
    operations = set()
    for route, callback in _api_patterns():
        view_class = callback.cls
        actions = getattr(callback, "actions", None)
        if actions is not None:
            # A router maps PUT to ``update``; ``http_method_names`` may still refuse it (405).
            methods = set(actions) & set(view_class.http_method_names)
        else:
            methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
        for method in methods & set(METHODS):
            operations.add((method.upper(), _as_schema_path(route)))
    return operations


def schema_operations(schema: dict) -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every ``/api/v1/`` operation the OpenAPI schema describes."""
    return {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        if path.startswith("/" + API_PREFIX)
        for method in METHODS
        if method in item
    }


def generated_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)
