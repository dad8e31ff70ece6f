"""What AWS holds, read and written: our snapshots and their copies, export tasks, a run's
state, the selected databases. Every AWS call about snapshots and exports outside the
limits lives here (docs/ARCHITECTURE.md, "Floors")."""
