"""Performance harnesses: each measures our code and a baseline in the same run (see README.md)."""
