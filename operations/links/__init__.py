"""Linked cities (issue 23): agreements between cities and the duplicate-aid check.

- `agreements.py`: propose / accept / decline / end an agreement (use cases, no Flask);
- `tokens.py`: the duplicate-aid tokens (HMAC-SHA-256 under the agreement's key), published on
  a Kafka topic per agreement between tenants of one deployment, and the matching;
- `web.py`: the admin pages and the API, served by the whistleblowing app.

The agreement model and the one check of an agreement are `shared/agreements.py`.
"""
