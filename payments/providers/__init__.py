"""One adapter per payment provider, behind the interface of `payments.providers.base`."""
