"""Operator commands behind ``rds-backup status|start|replay|cleanup|doctor`` (real AWS, or
the local one with ``--endpoint-url``). Never shipped to Lambda."""
