"""The 58 IFBench instruction types, with IFBench's ids and kwargs names (importing registers them)."""

from ifrl.constraints.ifbench import count, custom, format, ratio, repeat, sentence, words
from ifrl.constraints.ifbench._common import IFBENCH_IDS

__all__ = ["IFBENCH_IDS", "count", "custom", "format", "ratio", "repeat", "sentence", "words"]
