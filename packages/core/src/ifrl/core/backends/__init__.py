"""Generation backends: ``hf`` (transformers), ``vllm`` (offline engine), ``openai`` (HTTP)."""
