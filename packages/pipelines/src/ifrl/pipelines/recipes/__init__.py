"""The built-in recipes (importing this module registers them)."""

from ifrl.pipelines.recipes import ifrlvr, toolace

__all__ = ["ifrlvr", "toolace"]
