"""Feedback: the one-question survey a post-purchase message links to, and its results."""
