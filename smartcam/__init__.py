"""smartcam: cooperative, self-contained security cameras for Raspberry Pi."""

__version__ = "0.1.0"
