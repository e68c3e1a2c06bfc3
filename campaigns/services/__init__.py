"""Campaign services, one module per part: editing drafts, launching, deciding who gets what, sending."""
