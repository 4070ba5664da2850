"""Version of the account-balance distribution."""

__version__ = "0.1.0"
