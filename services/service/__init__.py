"""The service loop: waiting customers, SLA policy and alerts, response times, the business calendar, follow-ups."""
