"""One module per handler: ``handlers/X.py`` calls ``rds_backup/steps/X.py``. A step never
imports another step; what two steps share has its own module below them
(docs/ARCHITECTURE.md, "Floors")."""
