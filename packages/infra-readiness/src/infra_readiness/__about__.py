"""Version of the infra-readiness distribution."""

__version__ = "0.1.0"
