"""Version of the infra-security distribution."""

__version__ = "0.1.0"
