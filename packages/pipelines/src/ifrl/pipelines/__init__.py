"""ifrl.pipelines: Run end-to-end recipes."""

__version__ = "0.1.0"
