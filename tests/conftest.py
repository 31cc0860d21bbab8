"""Shared test configuration: hypothesis profiles and reference helpers.

Profiles: ``ci`` (default, quick), ``dev`` (more examples) and ``thorough`` (long runs),
selected with ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# ``ci`` draws the same examples on every run (derandomize), so a green run stays green;
# ``dev`` and ``thorough`` explore new examples each time.
settings.register_profile(
    "ci", max_examples=10, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

try:  # jax is the reference; compare in float64 like tapegrad's float64 paths
    import jax

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - jax is a test dependency
    pass
