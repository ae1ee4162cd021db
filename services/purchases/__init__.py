"""Purchases: recorded one by one or imported from a CSV."""
