"""ifrl.toolgen: Synthesize and verify function-calling data (ToolACE)."""

__version__ = "0.1.0"
