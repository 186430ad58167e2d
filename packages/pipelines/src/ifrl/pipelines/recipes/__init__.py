"""The built-in recipes (importing this module registers them)."""

from ifrl.pipelines.recipes import eduprm, ifrlvr, itool, study, toolace, toolace_dev

__all__ = ["eduprm", "ifrlvr", "itool", "study", "toolace", "toolace_dev"]
