"""Payment sources' services, by purpose: `sources` (adding, secrets, locations, pausing), `receiving` (a
webhook request verified and stored), `processing` (an event turned into a purchase, a refund, a void)."""
