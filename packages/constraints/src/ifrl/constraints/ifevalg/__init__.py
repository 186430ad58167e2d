"""The 29 instruction types open-instruct's IFEvalG (the IFTrain / ``IF_multi_constraints``
training data) adds to IFEval's, with its ids and kwargs names (importing registers them).

Each decides as open-instruct's checker does (``open_instruct/IFEvalG/instructions.py``);
each docstring (``ifrl constraints list``) states the rule and the reference's quirks.
"""

from ifrl.constraints.ifevalg import copying, count, format, keywords, words
from ifrl.constraints.ifevalg._common import IFEVALG_IDS, rule_sentences

__all__ = ["IFEVALG_IDS", "copying", "count", "format", "keywords", "rule_sentences", "words"]
