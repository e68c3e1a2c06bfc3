"""Settling a web worker once the application is loaded.

A request that records a batch of purchases makes a few hundred thousand short-lived objects,
and every so often the garbage collector walks every object the worker holds, Django's and the
project's modules included, which never become garbage. Measured on the batch endpoint with
gunicorn, that walking was 5–20 % of a worker's CPU.
"""

import gc


def settle_worker() -> None:
    """Load the URLconf now, then freeze what is loaded (collections skip it) and collect less often."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view and serializer module
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
