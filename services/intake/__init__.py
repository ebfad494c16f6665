"""Intake: the lead window takes a joint case once and publishes it to every department."""
