"""Console access: accounts and sessions, the audit log, and the viewer's scope."""
