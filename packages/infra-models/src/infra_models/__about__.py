"""Version of the infra-models distribution."""

__version__ = "0.1.3"
