"""journeyline: one customer timeline from marketing, sales and service events."""

__version__ = "0.1.0"
