"""Whistleblowing domain rules: lifecycle, receipts and case numbers, legal clocks, statistics.

Pure Python: no Flask, no SQLAlchemy sessions, no Kafka. The HTTP layer and the repository
call these functions; every rule lives here once.
"""
