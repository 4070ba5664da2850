"""Version of the order-saga distribution."""

__version__ = "0.1.0"
