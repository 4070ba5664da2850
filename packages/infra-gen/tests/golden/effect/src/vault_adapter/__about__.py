"""Version of the vault-adapter distribution."""

__version__ = "0.1.0"
