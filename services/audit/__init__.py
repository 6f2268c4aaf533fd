"""The audit ledger: a Kafka consumer that keeps a tamper-evident, hash-chained record of every
event of every service, per tenant. Kept apart from the services' code, with its own database."""
