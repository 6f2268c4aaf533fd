"""Provisioning: local PostgreSQL and Kafka, databases and roles, topics."""
