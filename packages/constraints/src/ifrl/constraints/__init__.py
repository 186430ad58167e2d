"""ifrl.constraints: Verify, synthesize and audit instruction constraints."""

__version__ = "0.1.0"
