"""Measurement: what a campaign really earned, against its holdout group, with a confidence interval."""
