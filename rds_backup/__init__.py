"""rds-backup: the domain behind the handlers (settings, naming, tags, each chain step)."""
