"""Replika shared library: settings, tenancy, data layer, crypto, auth, events, web plumbing."""
