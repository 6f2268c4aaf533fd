"""Replication (issue 8): a new city gets its own Replika from an existing city's configuration.

- `template`: copy a template city's tenant file into a new one (`replika tenant new`).
- `lifecycle`: suspend / resume a tenant. What every service checks at request time (a
  suspended tenant is read-only) is not here but in shared/suspension.py.
- `portal`, `provisioning`, `onboarding`, `web`: the hosting deployment's replication portal,
  the idempotent provisioning run on approval, and the new tenant admin's one-time onboarding.
- `config_admin`, `config_web`: a tenant admin edits the city's configuration.
- `instance`: secrets and `.env` for a city running its own deployment.

The pages (`web`, `config_web`) are plugged into the whistleblowing app by operations/apps.py.
"""
