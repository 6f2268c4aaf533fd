"""The whistleblowing service."""
