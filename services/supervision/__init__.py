"""Supervision (电子监察): watches every event, counts working-day deadlines, raises overdue alerts."""
