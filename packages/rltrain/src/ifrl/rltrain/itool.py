"""The iTool loop (arXiv 2501.09766): warm-up SFT, then rounds of deficiency → MCTS pairs → SimPO.

Stages, each writing its outputs under ``output_dir`` and skipped on a rerun once done:

* ``data/`` — the training and held-out conversations split into assistant-turn
  :class:`~ifrl.rltrain.deficiency.ToolSample` rows;
* ``warmup/`` — easy-to-hard SFT (:class:`~ifrl.rltrain.sft.SFTTrainer` with a curriculum) on the
  training conversations (``sft_steps: 0`` skips it); ``iter_0/eval.json`` scores that model;
* for each ``iter_k``: ``deficiency.jsonl`` (the hardest ``deficiency_fraction`` by gold
  perplexity, or by sampling), ``mcts/`` (pairs and cost per chunk of trees, resumable; merged
  into ``pairs.jsonl``), ``baseline/`` (best-vs-worst of N at the same number of model calls, for
  the cost comparison), ``simpo/`` (:class:`~ifrl.rltrain.dpo.DPOTrainer` with ``loss_type``
  simpo by default, LoRA, merged into ``simpo/final``; resumes from its checkpoints) and
  ``eval.json`` (held-out tool-call accuracy of the merged model by the structured matcher);
* ``summary.jsonl``, ``summary.md`` (a table per iteration) and ``accuracy.png`` (held-out
  accuracy per iteration; needs matplotlib).

Training settings inherited from :class:`~ifrl.rltrain.config.TrainConfig` (learning rate, batch
size, LoRA, ``max_steps`` …) apply to the preference stage; ``sft_*`` fields to the warm-up.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ifrl.core.jsonl import read_jsonl, write_json, write_jsonl, write_text
from ifrl.core.matcher import match_text
from ifrl.core.records import PreferencePair, SamplingParams
from ifrl.rltrain.config import ConfigError, TrainConfig, _help
from ifrl.rltrain.deficiency import (
    ToolSample,
    gold_perplexities,
    samples_from_conversation,
    select_by_sampling,
    select_hardest,
)
from ifrl.rltrain.mcts import Cost, MCTSConfig, Tree, derive_seed, search
from ifrl.rltrain.pairs import (
    PairConfig,
    best_vs_worst,
    collect_pairs,
    cost_summary,
    equal_budget_n,
)

DONE = "done.json"


@dataclass
class ITOOLConfig(TrainConfig):
    """iTool settings: data, warm-up SFT, deficiency selection, MCTS, pairs, preference training."""

    output_dir: str = _help("Directory for every stage's outputs.", "runs/itool")
    data: str = _help("Training conversations (JSONL, ifrl or OpenAI {messages, tools}).", "")
    eval_data: str = _help("Held-out conversations (JSONL) for tool-call accuracy.", "")
    learning_rate: float = _help("Peak learning rate of the preference stage.", 1e-5)
    max_steps: int = _help("Optimizer steps of the preference stage per iteration.", 100)
    use_lora: bool = _help("Train the preference stage with LoRA adapters (merged after).", True)
    iterations: int = _help("Rounds of deficiency → MCTS → preference training.", 1)
    device: str = _help("Device for generation and scoring: cpu, cuda or auto.", "auto")
    generation_batch_size: int = _help("Sequences per forward pass when generating.", 32)
    last_turn_only: bool = _help("Use only the last assistant turn of each conversation.", False)
    sft_steps: int = _help("Warm-up SFT steps (0 skips the warm-up).", 100)
    sft_learning_rate: float = _help("Warm-up SFT learning rate.", 2e-5)
    sft_batch_size: int = _help("Warm-up SFT micro-batch size.", 4)
    sft_curriculum: str = _help(
        "Warm-up order: loss, tool_calls, length, none or module:function.", "loss"
    )
    sft_curriculum_stages: int = _help("Difficulty stages of the warm-up curriculum.", 3)
    max_length: int = _help("Token limit of SFT rows and preference pairs.", 1024)
    deficiency: str = _help(
        "Deficiency selector: perplexity (hardest fraction) or sampling.", "perplexity"
    )
    deficiency_fraction: float = _help("Fraction kept by the perplexity selector.", 0.3)
    deficiency_k: int = _help("Samples per prompt for the sampling selector.", 4)
    mcts_iterations: int = _help("MCTS iterations per sample.", 5)
    mcts_actions: int = _help("Continuations sampled per expansion.", 3)
    mcts_temperature: float = _help("Sampling temperature of expansions.", 1.5)
    mcts_max_new_tokens: int = _help(
        "Token budget of an expansion (which is also its rollout).", 128
    )
    mcts_fragments_per_node: int = _help("Fragments a node holds.", 2)
    mcts_max_depth: int = _help("Depth cap of the tree.", 3)
    mcts_split_markers: tuple[str, ...] = _help("Fragment split markers.", (". ", ", ", "=", "("))
    mcts_exploration_weight: float = _help("Weight w of the prior term in selection.", 1.0)
    mcts_text_samples: bool = _help(
        "Also search deficient text-answer samples (their reward is only 'no tool call').", False
    )
    mcts_chunk: int = _help("Trees searched together (and saved together, for resuming).", 64)
    pair_min_gap: float = _help("Minimum value gap between chosen and rejected.", 0.1)
    pair_min_chosen: float = _help("Minimum value of the chosen side.", 0.0)
    pair_duplicate_ratio: float = _help(
        "Similarity ratio at which two sides count as near-duplicates.", 0.98
    )
    baseline: bool = _help("Also collect best-vs-worst pairs at the same generation budget.", True)
    train_pairs: str = _help("Pairs to train on: mcts, baseline or both.", "mcts")
    loss_type: str = _help("Preference loss: simpo (iTool), sigmoid (DPO) or ipo.", "simpo")
    beta: float = _help("SimPO/DPO beta.", 2.5)
    gamma: float = _help("SimPO target margin.", 0.5)
    eval_max_new_tokens: int = _help("Token budget of held-out generations (greedy).", 128)
    eval_limit: int = _help("Evaluate on at most this many held-out samples (0: all).", 0)

    def validate(self) -> None:
        super().validate()
        if self.iterations < 0:
            raise ConfigError("iterations: must be at least 0")
        if self.deficiency not in ("perplexity", "sampling"):
            raise ConfigError(
                f"deficiency: expected perplexity or sampling, got {self.deficiency!r}"
            )
        if not 0.0 < self.deficiency_fraction <= 1.0:
            raise ConfigError("deficiency_fraction: must lie in (0, 1]")
        if self.train_pairs not in ("mcts", "baseline", "both"):
            raise ConfigError(
                f"train_pairs: expected mcts, baseline or both, got {self.train_pairs!r}"
            )
        if self.loss_type not in ("simpo", "sigmoid", "ipo"):
            raise ConfigError(f"loss_type: expected simpo, sigmoid or ipo, got {self.loss_type!r}")
        if self.mcts_chunk < 1:
            raise ConfigError("mcts_chunk: must be at least 1")

    def mcts_config(self, seed: int) -> MCTSConfig:
        """The search settings, with ``seed``."""
        return MCTSConfig(
            iterations=self.mcts_iterations,
            num_actions=self.mcts_actions,
            temperature=self.mcts_temperature,
            max_new_tokens=self.mcts_max_new_tokens,
            fragments_per_node=self.mcts_fragments_per_node,
            max_depth=self.mcts_max_depth,
            split_markers=self.mcts_split_markers,
            exploration_weight=self.mcts_exploration_weight,
            seed=seed,
        )

    def pair_config(self) -> PairConfig:
        return PairConfig(self.pair_min_gap, self.pair_min_chosen, self.pair_duplicate_ratio)


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


# ------------------------------------------------------------------------------------------------
# Evaluation


def evaluate(
    generator: Any, samples: Sequence[ToolSample], max_new_tokens: int = 128
) -> dict[str, float]:
    """Greedy held-out scores: exact tool-call accuracy, mean matcher score, text accuracy."""
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens, logprobs=False)
    outputs = generator.generate([s.prompt for s in samples], params)
    tool = [(s, o[0].text) for s, o in zip(samples, outputs) if s.gold_calls]
    text = [(s, o[0].text) for s, o in zip(samples, outputs) if not s.gold_calls]
    tool_results = [match_text(t, s.gold_calls) for s, t in tool]
    text_results = [match_text(t, ()) for s, t in text]
    n = max(1, len(tool_results))
    return {
        "tool_call_accuracy": sum(r.exact for r in tool_results) / n,
        "tool_call_score": sum(r.score for r in tool_results) / n,
        "tool_call_parse_errors": sum(r.reason == "parse_error" for r in tool_results) / n,
        "text_accuracy": sum(r.exact for r in text_results) / max(1, len(text_results)),
        "tool_samples": float(len(tool_results)),
        "text_samples": float(len(text_results)),
    }


# ------------------------------------------------------------------------------------------------
# The loop


def summary_row(
    k: int,
    model: str | None,
    scores: dict[str, Any],
    costs: dict[str, Any],
    trained: dict[str, Any],
    deficient: int | None = None,
) -> dict[str, Any]:
    """One ``summary.jsonl`` row: iteration ``k``'s held-out ``scores``, MCTS / baseline ``costs``
    (``{"mcts": ..., "baseline": ...}``), SimPO ``trained`` stats and the number of
    ``deficient`` samples (None where the iteration has no deficiency stage)."""
    mcts = costs.get("mcts", {})
    base = costs.get("baseline", {})
    return {
        "iteration": k,
        "model": model,
        "tool_call_accuracy": scores.get("tool_call_accuracy"),
        "tool_call_score": scores.get("tool_call_score"),
        "text_accuracy": scores.get("text_accuracy"),
        "deficient": deficient,
        "mcts_pairs": mcts.get("pairs"),
        "mcts_model_calls": mcts.get("model_calls"),
        "mcts_pairs_per_1000_calls": mcts.get("pairs_per_1000_calls"),
        "mcts_tokens_per_pair": mcts.get("tokens_per_pair"),
        "baseline_pairs": base.get("pairs"),
        "baseline_model_calls": base.get("model_calls"),
        "baseline_pairs_per_1000_calls": base.get("pairs_per_1000_calls"),
        "baseline_tokens_per_pair": base.get("tokens_per_pair"),
        "train_loss": trained.get("loss"),
        "train_pairs": trained.get("pairs"),
    }


class ITool:
    """Runs (or resumes) the iTool stages for one config; :meth:`run` returns the summary rows."""

    def __init__(self, config: ITOOLConfig) -> None:
        config.validate()
        if not config.model:
            raise ConfigError("model: no model path given")
        if not config.data:
            raise ConfigError("data: no training conversations given")
        if not config.eval_data:
            raise ConfigError("eval_data: no held-out conversations given")
        self.config = config
        self.out = Path(config.output_dir)
        self.device = _device(config.device)

    # -- helpers -----------------------------------------------------------------------------

    def _done(self, stage: Path) -> dict[str, Any] | None:
        marker = stage / DONE
        if marker.exists():
            import json

            data: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
            return data
        return None

    def _finish(self, stage: Path, info: dict[str, Any]) -> dict[str, Any]:
        stage.mkdir(parents=True, exist_ok=True)
        write_json(stage / DONE, info)
        return info

    def _train_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self.config, f.name) for f in fields(TrainConfig)}

    def _generator(self, model_dir: str) -> Any:
        from ifrl.core.backends.hf import HFGenerator

        return HFGenerator(
            model_dir, device=self.device, batch_size=self.config.generation_batch_size
        )

    # -- stages ------------------------------------------------------------------------------

    def prepare_data(self) -> tuple[list[ToolSample], list[ToolSample]]:
        """Split both conversation files into assistant-turn samples (written to ``data/``)."""
        stage = self.out / "data"
        if self._done(stage) is None:
            from ifrl.rltrain.models import load_tokenizer
            from ifrl.rltrain.sft import load_conversations

            tok = load_tokenizer(self.config.model)
            for name, path in (("train", self.config.data), ("eval", self.config.eval_data)):
                rows: list[ToolSample] = []
                for i, conv in enumerate(load_conversations(path)):
                    rows += samples_from_conversation(
                        tok, conv, f"{name}{i}", last_only=self.config.last_turn_only
                    )
                if name == "eval" and self.config.eval_limit:
                    rows = rows[: self.config.eval_limit]
                write_jsonl(stage / f"{name}_samples.jsonl", (r.to_dict() for r in rows))
            self._finish(stage, {})
        train = list(read_jsonl(stage / "train_samples.jsonl", ToolSample.from_dict))
        held = list(read_jsonl(stage / "eval_samples.jsonl", ToolSample.from_dict))
        return train, held

    def warmup(self) -> str:
        """Easy-to-hard SFT; returns the model directory the iterations start from."""
        cfg = self.config
        if cfg.sft_steps == 0:
            return cfg.model
        stage = self.out / "warmup"
        done = self._done(stage)
        if done is not None:
            return str(done["model"])
        from ifrl.rltrain.sft import SFTConfig, SFTTrainer

        base = self._train_fields()
        base.update(
            output_dir=str(stage),
            data=cfg.data,
            max_steps=cfg.sft_steps,
            learning_rate=cfg.sft_learning_rate,
            per_device_batch_size=cfg.sft_batch_size,
            use_lora=False,
            merge_lora=False,
            resume=True,
        )
        sft_cfg = SFTConfig(
            **base,
            curriculum=cfg.sft_curriculum,
            curriculum_stages=cfg.sft_curriculum_stages,
            max_length=cfg.max_length,
        )
        result = SFTTrainer(sft_cfg).train()
        assert result.final_model is not None
        return str(
            self._finish(stage, {"model": str(result.final_model), **result.metrics})["model"]
        )

    def evaluate_stage(
        self, stage: Path, model_dir: str, held: Sequence[ToolSample]
    ) -> dict[str, Any]:
        """``eval.json`` of ``model_dir`` on the held-out samples."""
        path = stage / "eval.json"
        if path.exists():
            import json

            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
        scores = evaluate(self._generator(model_dir), held, self.config.eval_max_new_tokens)
        result = {"model": model_dir, **scores}
        stage.mkdir(parents=True, exist_ok=True)
        write_json(path, result)
        return result

    def select_deficient(
        self, stage: Path, model_dir: str, train: Sequence[ToolSample], iteration: int
    ) -> list[ToolSample]:
        """The deficient samples of this iteration (``deficiency.jsonl``)."""
        path = stage / "deficiency.jsonl"
        if self._done(stage / "deficiency") is None:
            cfg = self.config
            if cfg.deficiency == "perplexity":
                from ifrl.rltrain.models import load_tokenizer

                gen = self._generator(model_dir)
                ppl = gold_perplexities(gen.model, load_tokenizer(model_dir), train, batch_size=8)
                kept = select_hardest(train, ppl, cfg.deficiency_fraction)
                by_id = dict(zip((s.id for s in train), ppl))
                info: dict[str, Any] = {
                    "selector": "perplexity",
                    "kept": len(kept),
                    "mean_perplexity": sum(ppl) / max(1, len(ppl)),
                    "mean_kept_perplexity": sum(by_id[s.id] for s in kept) / max(1, len(kept)),
                }
            else:
                sel = select_by_sampling(
                    train,
                    self._generator(model_dir),
                    cfg.deficiency_k,
                    temperature=1.0,
                    max_new_tokens=cfg.mcts_max_new_tokens,
                    seed=derive_seed(cfg.seed, iteration, -2),
                )
                kept = sel.kept
                info = {"selector": "sampling", "kept": len(kept), "model_calls": sel.model_calls}
            write_jsonl(path, (s.to_dict() for s in kept))
            self._finish(stage / "deficiency", {**info, "total": len(train)})
        return list(read_jsonl(path, ToolSample.from_dict))

    def collect(
        self, stage: Path, model_dir: str, samples: Sequence[ToolSample], iteration: int
    ) -> dict[str, Any]:
        """MCTS pairs (chunked, resumable) and the equal-budget baseline; returns cost summaries."""
        cfg = self.config
        finished = self._done(stage / "collect")
        if finished is not None:
            return finished
        mdir = stage / "mcts"
        mdir.mkdir(parents=True, exist_ok=True)
        gen: Any = None
        chunks = [samples[i : i + cfg.mcts_chunk] for i in range(0, len(samples), cfg.mcts_chunk)]
        for c, chunk in enumerate(
            tqdm(chunks, desc=f"iter {iteration} mcts", disable=not cfg.progress)
        ):
            if (mdir / f"chunk_{c:05d}.json").exists():
                continue
            gen = gen or self._generator(model_dir)
            trees = [
                Tree(s.prompt, {"gold_calls": list(s.gold_calls)}, sample_id=s.id) for s in chunk
            ]
            cost = search(trees, gen, cfg.mcts_config(derive_seed(cfg.seed, iteration, c)))
            pairs = collect_pairs(trees, cfg.pair_config())
            write_jsonl(mdir / f"chunk_{c:05d}.jsonl", pairs)
            write_json(
                mdir / f"chunk_{c:05d}.json",
                {"trees": len(trees), "pairs": len(pairs), **cost.to_dict()},
            )
        total = Cost()
        pairs_all: list[PreferencePair] = []
        for c in range(len(chunks)):
            import json

            info = json.loads((mdir / f"chunk_{c:05d}.json").read_text(encoding="utf-8"))
            total.model_calls += info["model_calls"]
            total.generated_tokens += info["generated_tokens"]
            total.batches += info["batches"]
            pairs_all += list(read_jsonl(mdir / f"chunk_{c:05d}.jsonl", PreferencePair))
        write_jsonl(stage / "pairs.jsonl", pairs_all)
        result: dict[str, Any] = {"mcts": cost_summary(total, len(pairs_all))}
        if cfg.baseline and samples:
            bdir = stage / "baseline"
            done = self._done(bdir)
            if done is None:
                gen = gen or self._generator(model_dir)
                n = equal_budget_n(total, len(samples))
                bpairs, bcost = best_vs_worst(
                    [s.prompt for s in samples],
                    gen,
                    n,
                    columns=[{"gold_calls": list(s.gold_calls)} for s in samples],
                    sample_ids=[s.id for s in samples],
                    mcts=cfg.mcts_config(derive_seed(cfg.seed, iteration, -1)),
                    config=cfg.pair_config(),
                    batch_prompts=max(1, cfg.generation_batch_size // n),
                )
                write_jsonl(bdir / "pairs.jsonl", bpairs)
                done = self._finish(bdir, {"n": n, **cost_summary(bcost, len(bpairs))})
            result["baseline"] = done
        write_json(stage / "pairs.json", result)
        return self._finish(stage / "collect", result)

    def train_preferences(self, stage: Path, model_dir: str) -> tuple[str, dict[str, Any]]:
        """SimPO (or DPO/IPO) with LoRA on this iteration's pairs, merged; the new model dir."""
        cfg = self.config
        done = self._done(stage / "simpo")
        if done is not None:
            return str(done["model"]), done
        pairs: list[PreferencePair] = []
        if cfg.train_pairs in ("mcts", "both"):
            pairs += list(read_jsonl(stage / "pairs.jsonl", PreferencePair))
        if (
            cfg.train_pairs in ("baseline", "both")
            and (stage / "baseline" / "pairs.jsonl").exists()
        ):
            pairs += list(read_jsonl(stage / "baseline" / "pairs.jsonl", PreferencePair))
        if not pairs:
            return model_dir, self._finish(
                stage / "simpo", {"model": model_dir, "pairs": 0, "skipped": "no pairs"}
            )
        data = stage / "train_pairs.jsonl"
        write_jsonl(data, pairs)
        from ifrl.rltrain.dpo import DPOConfig, DPOTrainer

        base = self._train_fields()
        base.update(
            model=model_dir,
            data=str(data),
            output_dir=str(stage / "simpo"),
            merge_lora=True,
            resume=True,
        )
        dpo_cfg = DPOConfig(
            **base,
            loss_type=cfg.loss_type,
            beta=cfg.beta,
            gamma=cfg.gamma,
            max_length=cfg.max_length,
        )
        result = DPOTrainer(dpo_cfg).train()
        assert result.final_model is not None
        info = {"model": str(result.final_model), "pairs": len(pairs), **result.metrics}
        return str(result.final_model), self._finish(stage / "simpo", info)

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        """Every stage in order (finished ones are read back); writes and returns the summary."""
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        train, held = self.prepare_data()
        model = self.warmup()
        rows = [
            summary_row(0, model, self.evaluate_stage(self.out / "iter_0", model, held), {}, {})
        ]
        for k in range(1, cfg.iterations + 1):
            stage = self.out / f"iter_{k}"
            deficient = self.select_deficient(stage, model, train, k)
            searched = [s for s in deficient if s.gold_calls or cfg.mcts_text_samples]
            costs = self.collect(stage, model, searched, k)
            model, trained = self.train_preferences(stage, model)
            scores = self.evaluate_stage(stage, model, held)
            rows.append(summary_row(k, model, scores, costs, trained, len(deficient)))
        self.write_summary(rows)
        return rows

    def write_summary(self, rows: Sequence[dict[str, Any]]) -> None:
        """``summary.jsonl``, ``summary.md`` and, with matplotlib, ``accuracy.png``."""
        write_jsonl(self.out / "summary.jsonl", rows)
        cols = [
            ("iteration", "iter"),
            ("tool_call_accuracy", "held-out acc"),
            ("tool_call_score", "held-out score"),
            ("deficient", "deficient"),
            ("mcts_pairs", "MCTS pairs"),
            ("mcts_pairs_per_1000_calls", "MCTS pairs/1k calls"),
            ("baseline_pairs", "BvW pairs"),
            ("baseline_pairs_per_1000_calls", "BvW pairs/1k calls"),
            ("train_loss", "loss"),
        ]
        lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
        for r in rows:
            cells = []
            for key, _ in cols:
                v = r.get(key)
                cells.append("-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v))
            lines.append("| " + " | ".join(cells) + " |")
        note = ""
        if not plot_accuracy(rows, self.out / "accuracy.png"):
            note = "\n(accuracy.png not written: matplotlib is not installed)\n"
        write_text(self.out / "summary.md", "# iTool summary\n\n" + "\n".join(lines) + "\n" + note)


def plot_accuracy(rows: Sequence[dict[str, Any]], path: Path) -> bool:
    """Held-out accuracy and score per iteration as a PNG; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    its = [r["iteration"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(its, [r["tool_call_accuracy"] or 0.0 for r in rows], marker="o", label="exact accuracy")
    ax.plot(its, [r["tool_call_score"] or 0.0 for r in rows], marker="s", label="matcher score")
    ax.set_xlabel("iteration (0 = after warm-up SFT)")
    ax.set_ylabel("held-out tool calls")
    ax.set_xticks(its)
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    shutil.move(str(tmp), str(path))
    return True
