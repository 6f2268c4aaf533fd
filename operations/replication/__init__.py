"""Replication (issue 8): a new city gets its own Replika from an existing city's configuration.

- `template`: copy a template city's tenant file into a new one (`replika tenant new`).
- `lifecycle`: suspend / resume a tenant (read-only while suspended).
- `requests`, `provisioning`, `onboarding`: the hosting deployment's replication portal, the
  idempotent provisioning run on approval, and the new tenant admin's one-time onboarding.
- `instance`: secrets and `.env` for a city running its own deployment.
"""
