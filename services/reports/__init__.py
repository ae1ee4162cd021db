"""Manager reports: the service report, the dashboard series and group health."""
