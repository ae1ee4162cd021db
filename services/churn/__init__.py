"""Churn early warning: the per-customer model, its word lists and the daily scoring job."""
