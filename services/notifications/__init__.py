"""notifications: content-free notices from the event stream (see README.md)."""
