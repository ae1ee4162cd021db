"""Customers: profiles, identities, the timeline, the directory, groups, lifecycle, tags and consent."""
