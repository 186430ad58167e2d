"""Package data for ifrl.core: the tokenizer training corpus of the tiny models."""
