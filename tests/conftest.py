"""Hypothesis profiles and the fixtures every test file shares.

The default profile keeps the whole suite to a few minutes on a laptop; CI=true loads the
"ci" profile, which draws three times as many examples.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from scratchgan import backend as B

settings.register_profile("default", max_examples=10, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=30, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
# A long hunt for rare failures, by hand only: pytest --hypothesis-profile=stress tests/...
settings.register_profile("stress", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "default")


@pytest.fixture(autouse=True)
def numpy_backend_and_seed():
    """Every test starts on the NumPy backend with seeded generators, and leaves it that way."""
    B.use_backend("numpy")
    B.seed(0)
    yield
    B.use_backend("numpy")
