"""Operator and platform code: the `replika` command line, tenant files applied to every
service database, tenant moves, replication, key and official administration, demo seeding,
and each service's composition root (`operations.apps`).

Imports run one way: `operations` uses `services` and `shared`; neither imports it, and
`infra/` runs its commands as subprocesses (`replika …`), never as imports.
"""
