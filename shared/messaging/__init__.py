"""Kafka plumbing shared by the services: broker factory, outbox, idempotent consumption."""
