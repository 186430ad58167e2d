"""Language helpers shared by the verifiers: sentences, Treebank-style words, language id.

Each reproduces the behaviour IFEval's reference verdicts were computed with, without NLTK
and without any data download.
"""
