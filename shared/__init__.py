"""Lianban's common library: settings, message contracts, topics, messaging plumbing, calendar."""
