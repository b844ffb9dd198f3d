"""The MNIST study as plain, tested functions; the rule scripts in `scripts/` call them."""

__version__ = "0.1.0"
