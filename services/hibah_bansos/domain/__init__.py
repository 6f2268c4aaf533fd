"""Hibah-bansos rules, free of Flask, SQLAlchemy and Kafka.

hibah: regional grant to an organisation; bansos (bantuan sosial): social aid to people at
social risk; both paid from the city budget (APBD) under Permendagri 32/2011 as amended.
"""
