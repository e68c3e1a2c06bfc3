"""Imports, by role: `files` (reading, the card-number scan, staging with COPY), `sql` (shared SQL pieces),
one module per kind (`purchases`, `shoppers`, `loyalty`: the checks in SQL and the apply step) and `jobs`
(create, check, load, resume)."""
