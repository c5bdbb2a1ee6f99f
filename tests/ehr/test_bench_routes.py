"""The benchmark's bare baselines are routed only by the benchmark's own URLs."""

import pytest
from django.urls import Resolver404, resolve


@pytest.mark.parametrize("path", ["/bench/bare/", "/bench/bare/vitals/1/"])
def test_bench_baselines_are_not_routed_in_production(path):
    with pytest.raises(Resolver404):
        resolve(path, urlconf="ehr.urls")


def test_bench_urls_serve_the_application_and_the_baselines():
    assert resolve("/bench/bare/", urlconf="bench.urls").url_name == "bench-bare"
    assert resolve("/api/v1/patients/", urlconf="bench.urls").url_name == "patient-list"
