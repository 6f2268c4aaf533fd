"""The hibah_bansos service."""
