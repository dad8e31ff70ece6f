"""What notify and reconcile both do with a run's outcome, so neither step imports the other:
the claim keys that make each email go out once (``keys``), the reports an outcome is told
with (``reports``), releasing a source snapshot once nothing needs it (``release``), and
settling a run from its state on AWS (``settle``)."""
