"""Version of the infra-outbox distribution."""

__version__ = "0.1.0"
