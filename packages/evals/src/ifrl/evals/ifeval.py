"""The ``ifeval`` and ``ifbench`` benchmarks, scored through :mod:`ifrl.constraints`.

Data: IFEval rows ``{"key", "prompt", "instruction_id_list", "kwargs"}`` (IFEval's
``input_data.jsonl``, IFBench's ``IFBench_test.jsonl``), read by the constraints codec into
:class:`~ifrl.core.records.ConstrainedPrompt` records (``null`` kwargs are dropped), from
``data=PATH`` or, when online, the Hugging Face hub (``google/IFEval``, ``allenai/IFBench_test``).

Metrics: IFEval's four accuracies — prompt-level (every instruction of a prompt followed) and
instruction-level, each strict and loose — plus accuracy per instruction type.

Response files (``--responses``): lines with ``response`` and either ``key`` or ``prompt``
(IFEval's format), or lm-eval ``--log_samples`` lines (``doc`` and ``resps``). Lines are matched by key, else by line position when the
file has one line per prompt in data order (the shared GPT-4 responses), else by prompt text.
Instructions whose id :mod:`ifrl.constraints` does not know are reported and left out.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from ifrl.constraints import (
    REGISTRY,
    ConstrainedPrompt,
    build,
    evaluate_constraints,
    from_row,
    read_prompts,
)
from ifrl.core.errors import IfrlError, JSONLError, RecordError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.stats import proportion
from ifrl.evals.benchmark import Example, Responses, register_benchmark
from ifrl.evals.results import EvalResult

__all__ = ["IFBenchBenchmark", "IFEvalBenchmark", "load_items"]

HUB = {"ifeval": ("google/IFEval", "train"), "ifbench": ("allenai/IFBench_test", "train")}


def load_items(name: str, data: str | os.PathLike[str] | None = None) -> list[ConstrainedPrompt]:
    """The prompts of ``ifeval``/``ifbench`` from ``data`` (JSONL) or the Hugging Face hub."""
    if data is not None:
        return list(read_prompts(data, "ifeval"))
    repo, split = HUB[name]
    try:
        import datasets
    except ImportError as err:
        raise IfrlError(
            f"no --data given for {name} and the `datasets` package is missing to fetch "
            f"{repo}; pass --data PATH to a JSONL file"
        ) from err
    try:
        rows = datasets.load_dataset(repo, split=split)
    except Exception as err:  # offline, or the hub refused
        raise IfrlError(f"could not load {repo} from the hub ({err}); pass --data PATH") from err
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(from_row(dict(row), "ifeval"))
        except RecordError as err:
            raise IfrlError(f"{repo} row {i}: {err}") from err
    return out


def _from_lm_eval(row: dict[str, Any]) -> dict[str, Any]:
    """An lm-eval ``--log_samples`` line (``doc`` + ``resps``) as ``{key, prompt, response}``."""
    doc, resps = row.get("doc"), row.get("filtered_resps", row.get("resps"))
    if not isinstance(doc, Mapping) or not isinstance(resps, list) or not resps:
        return row
    first = resps[0]
    while isinstance(first, list) and first:
        first = first[0]
    out = {"prompt": doc.get("prompt"), "response": first}
    if "key" in doc:
        out["key"] = doc["key"]
    return out


class IFEvalBenchmark:
    """IFEval (or, with ``name="ifbench"``, IFBench) scored strict and loose."""

    name = "ifeval"

    def __init__(
        self, data: str | os.PathLike[str] | None = None, *, limit: int | None = None
    ) -> None:
        self.data = data
        self.limit = limit
        self._items: list[ConstrainedPrompt] | None = None

    def all_items(self) -> list[ConstrainedPrompt]:
        """Every item of the data (cached)."""
        if self._items is None:
            self._items = load_items(self.name, self.data)
        return self._items

    def items(self) -> list[ConstrainedPrompt]:
        """The first ``limit`` items."""
        items = self.all_items()
        return items[: self.limit] if self.limit is not None else items

    def examples(self) -> list[Example]:
        return [Example(item.id, item.conversation(), item) for item in self.items()]

    def read_responses(self, path: str | os.PathLike[str]) -> dict[str, list[Any]]:
        name = os.fspath(path)
        rows = [_from_lm_eval(row) for row in read_jsonl(path)]
        for lineno, row in enumerate(rows, start=1):
            if not isinstance(row.get("response"), str):
                raise JSONLError(name, lineno, "response", "missing or not a string")
        items = self.all_items()
        got: dict[str, list[Any]] = defaultdict(list)
        if all("key" in r for r in rows):
            for r in rows:
                got[str(r["key"])].append(r["response"])
        elif len(rows) == len(items):  # one line per prompt, in data order
            for item, r in zip(items, rows):
                got[item.id].append(r["response"])
        else:
            by_prompt = {item.text: item.id for item in items}
            for r in rows:
                key = by_prompt.get(str(r.get("prompt")))
                if key is not None:
                    got[key].append(r["response"])
        if not got:
            raise JSONLError(name, 1, "prompt", f"no line matches a prompt of {self.name}")
        return dict(got)

    def score(
        self, examples: Sequence[Example], responses: Responses
    ) -> tuple[EvalResult, list[dict[str, Any]]]:
        samples: list[dict[str, Any]] = []
        prompt_strict: list[bool] = []
        prompt_loose: list[bool] = []
        inst_strict: list[bool] = []
        inst_loose: list[bool] = []
        by_type_strict: dict[str, list[bool]] = defaultdict(list)
        by_type_loose: dict[str, list[bool]] = defaultdict(list)
        unsupported: dict[str, int] = defaultdict(int)
        for example in examples:
            item: ConstrainedPrompt = example.data
            for spec in item.constraints:
                if spec.id not in REGISTRY:
                    unsupported[spec.id] += 1
            built = [build(c.id, c.kwargs) for c in item.constraints if c.id in REGISTRY]
            if not built:
                continue
            for k, response in enumerate(responses.get(example.id, [])):
                ev = evaluate_constraints(str(response), built)
                prompt_strict.append(ev.follow_all_strict)
                prompt_loose.append(ev.follow_all_loose)
                inst_strict += ev.strict
                inst_loose += ev.loose
                for ident, s, lo in zip(ev.instruction_id_list, ev.strict, ev.loose):
                    by_type_strict[ident].append(s)
                    by_type_loose[ident].append(lo)
                verdicts = {name: v for name, v in ev.to_dict().items() if name != "key"}
                samples.append(
                    {
                        "id": item.id,
                        "sample": k,
                        "prompt": item.text,
                        "response": response,
                        **verdicts,
                        "valid": ev.follow_all_strict,
                        "reasons": list(ev.reasons),
                    }
                )
        metrics = {
            "prompt_level_strict_acc": proportion(sum(prompt_strict), len(prompt_strict)),
            "prompt_level_loose_acc": proportion(sum(prompt_loose), len(prompt_loose)),
            "inst_level_strict_acc": proportion(sum(inst_strict), len(inst_strict)),
            "inst_level_loose_acc": proportion(sum(inst_loose), len(inst_loose)),
        }
        info: dict[str, Any] = {"samples": len(samples)}
        if unsupported:
            info["unsupported_instruction_ids"] = dict(sorted(unsupported.items()))
        result = EvalResult(
            benchmark=self.name,
            metrics=metrics,
            breakdowns={
                "instruction type (strict)": {
                    t: proportion(sum(v), len(v)) for t, v in sorted(by_type_strict.items())
                },
                "instruction type (loose)": {
                    t: proportion(sum(v), len(v)) for t, v in sorted(by_type_loose.items())
                },
            },
            config={
                "data": os.fspath(self.data) if self.data else HUB[self.name][0],
                "limit": self.limit,
            },
            info=info,
            primary="prompt_level_strict_acc",
        )
        return result, samples


register_benchmark("ifeval")(IFEvalBenchmark)


@register_benchmark("ifbench")
class IFBenchBenchmark(IFEvalBenchmark):
    """IFBench: 58 out-of-distribution instruction types, scored like IFEval."""

    name = "ifbench"
