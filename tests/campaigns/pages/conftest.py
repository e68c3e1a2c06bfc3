from urllib.parse import urlsplit

import pytest


@pytest.fixture
def path_of():
    """The path and query of an absolute link a message carries."""

    def path(url):
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}" if parts.query else parts.path

    return path
