"""Timeline: an event-sourced record of how relationships between actors develop."""

__version__ = "0.1.0"
