"""Version of the order-totals distribution."""

__version__ = "0.1.0"
