"""Storeloop's own settings, with one difference: the URLs add the benchmark's control endpoint."""

from config.settings import *  # noqa: F403
from config.settings import env

ROOT_URLCONF = "benchmarks.urls"
# The merchant the control endpoint writes its rows for (benchmarks.common seeds it).
BENCH_MERCHANT_ID = env.int("BENCH_MERCHANT_ID", default=0)
