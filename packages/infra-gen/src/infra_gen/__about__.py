"""Version of the infra-gen distribution."""

__version__ = "0.1.0"
