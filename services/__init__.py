"""Lianban services, one process each."""
