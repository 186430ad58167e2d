"""Does a model of the `tool` micro policy's size learn induction (find a token seen earlier,
copy what followed it) within this machine's budget? The second probe of issue 24's tool
failure, after ``bench/micro_copy_probe.py``.

Each drill row is a string of distinct random tokens, a separator, then a cue token taken from
a random position of the string followed by the ``--targets`` tokens that came after it there;
the loss is on those targets only. Because the cue's position is random, the only way to the
targets is content lookup, the skill the tool policy lacks when it must copy an argument value
from the request. ``--control`` swaps the targets for the cue repeated (no lookup needed): it
shows that the same model, loop and budget learn a task when no lookup is involved.

Every 100 steps the probe prints the training loss and the teacher-forced token accuracy on 256
fixed held-out rows (chance: 1 in the number of candidate tokens).

    python bench/micro_induction_probe.py                            # full vocabulary, ~13 min
    python bench/micro_induction_probe.py --symbols 64 --min-len 8 --max-len 16 --targets 2 \
        --batch 64                                                     # easiest setting
    python bench/micro_induction_probe.py --control --steps 300      # ~2 min

Measured on 2026-12-05 (shared 2-core machine, one thread; `tool` spec size, 3.46M parameters;
lr 1e-3 after 50 warm-up steps; held-out rows of 47 tokens, or 15 in the easiest setting):

- full vocabulary (1,176 token ids), strings of 16-48 tokens, 4 targets, 32 rows a step: the
  loss stays at chance (6.88 at step 2,000; ln 1,176 = 7.07), held-out token accuracy at most
  0.006 over the 2,000 steps (700 s). Exploratory runs of the same drill with lr 3e-3 (600
  steps) and with 2 layers of 8 full heads (1,500 steps, best 0.012) stayed there too;
- easiest setting (64 symbols, strings of 8-16, 2 targets, 64 rows a step): 0.047 at step 100,
  0.131 at 1,000, 0.141 at 2,000, at most 0.166 over 3,000 steps (838 s), while the training
  loss fell from 3.9 to about 2; a lookup would approach 1.0, guessing a token of the string
  gives 1/15 = 0.067;
- easiest setting with 2 layers of 4 full heads (``--layers 2 --heads 4 --kv-heads 4``): 0.148
  at step 1,000, 0.232 at 3,000, 0.281 at 10,000, at most 0.316 over 12,000 steps (1,962 s):
  a slow climb, no jump;
- control (the cue repeated): 0.989 at step 100, 1.000 at step 200.

So content lookup does not form in the thousands of steps a micro build can afford on this
machine, while a task without it is learned in a hundred.

``--circuit`` starts from weights that already hold an induction circuit
(``ifrl.pipelines.micro.circuits.write_induction_circuit`` with the bench's defaults,
``--embedding-scale 1 --copy-gain 3``; written by hand, no training): on the full-vocabulary drill it
scores 0.976 before the first step. Trained on the drill at the default lr 1e-3 it is gone
within 100 steps (0.001, loss 7.19, above chance): Adam moves every weight by about the learning
rate each step, far more than the circuit's small weights (embeddings of scale 0.02) can take.
At lr 1e-4 it holds and sharpens (0.982 at step 100, 0.992 at step 200, loss 4.2 -> 3.2).

    python bench/micro_induction_probe.py --circuit --steps 200 --lr 1e-4
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from typing import Any


def drill_rows(
    rng: random.Random,
    rows: int,
    token_ids: range,
    min_len: int,
    max_len: int,
    targets: int,
    separator: int,
    control: bool = False,
) -> tuple[list[list[int]], list[list[int]]]:
    """``rows`` drill rows of one length and their labels (-100 outside the targets): distinct
    tokens, the separator, a cue from a random position, then the tokens that followed it (or,
    with ``control``, the cue repeated)."""
    length = rng.randint(min_len, max_len)
    inputs, labels = [], []
    for _ in range(rows):
        string = rng.sample(token_ids, length)
        at = rng.randint(0, length - 1 - targets)
        cue = string[at]
        answer = [cue] * targets if control else string[at + 1 : at + 1 + targets]
        inputs.append([*string, separator, cue, *answer])
        labels.append([-100] * (length + 2) + answer)
    return inputs, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32, help="rows a step")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--symbols", type=int, default=0, help="token ids drawn from (0: all)")
    parser.add_argument("--min-len", type=int, default=16)
    parser.add_argument("--max-len", type=int, default=48)
    parser.add_argument("--targets", type=int, default=4, help="tokens to copy after the cue")
    parser.add_argument("--layers", type=int, default=0, help="0: the tool spec's")
    parser.add_argument("--heads", type=int, default=0, help="0: the tool spec's")
    parser.add_argument("--kv-heads", type=int, default=0, help="0: the tool spec's")
    parser.add_argument("--control", action="store_true", help="targets: the cue repeated")
    parser.add_argument(
        "--circuit", action="store_true", help="start from a hand-written induction circuit"
    )
    parser.add_argument("--embedding-scale", type=float, default=1.0, help="with --circuit")
    parser.add_argument("--copy-gain", type=float, default=3.0, help="with --circuit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.min_len <= args.targets or args.max_len < args.min_len:
        parser.error("need targets < min-len <= max-len")

    import torch

    from ifrl.pipelines.micro.build import domain_tokenizer, new_model
    from ifrl.pipelines.micro.circuits import InductionCircuit, write_induction_circuit
    from ifrl.pipelines.micro.spec import get_spec
    from ifrl.pipelines.micro.tools import COMPACT_TEMPLATE

    torch.set_num_threads(args.threads)
    spec = get_spec("tool")
    # random weights unless --circuit: the tool spec itself now starts from the circuit
    changes: dict[str, Any] = {"seed": args.seed, "init": "random"}
    for field, value in (
        ("num_layers", args.layers),
        ("num_heads", args.heads),
        ("num_kv_heads", args.kv_heads),
    ):
        if value:
            changes[field] = value
    spec = replace(spec, **changes)
    tokenizer = domain_tokenizer([], 0, COMPACT_TEMPLATE)
    separator = tokenizer.convert_tokens_to_ids("<|im_end|>")
    top = 10 + args.symbols if args.symbols else len(tokenizer) - 10
    token_ids = range(10, top)  # clear of the special tokens at both ends
    if len(token_ids) < args.max_len:
        parser.error(f"--max-len {args.max_len} exceeds the {len(token_ids)} symbols")
    torch.manual_seed(args.seed)
    model = new_model(spec, tokenizer)
    if args.circuit:
        circuit = InductionCircuit(
            embedding_scale=args.embedding_scale, copy_gain=args.copy_gain, seed=args.seed
        )
        write_induction_circuit(model, circuit)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"{params / 1e6:.2f}M parameters, {spec.num_layers} layers, {spec.num_heads} heads "
        f"({spec.num_kv_heads} kv); {len(token_ids)} symbols, strings of "
        f"{args.min_len}-{args.max_len}, {args.targets} targets, "
        f"{'control' if args.control else 'induction'}{', circuit' if args.circuit else ''}",
        flush=True,
    )

    def rows(rng: random.Random, n: int) -> tuple[Any, Any]:
        x, y = drill_rows(
            rng, n, token_ids, args.min_len, args.max_len, args.targets, separator, args.control
        )
        return torch.tensor(x), torch.tensor(y)

    held_x, held_y = rows(random.Random(args.seed + 7919), 256)

    def accuracy() -> float:
        with torch.no_grad():
            logits = model(input_ids=held_x).logits
        predicted, wanted = logits[:, :-1].argmax(-1), held_y[:, 1:]
        scored = wanted != -100
        return float(((predicted == wanted) & scored).sum()) / float(scored.sum())

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 50))
    rng, started = random.Random(args.seed), time.perf_counter()
    model.eval()
    print(f"step     0  held-out token accuracy {accuracy():.3f}", flush=True)
    for step in range(1, args.steps + 1):
        model.train()
        x, y = rows(rng, args.batch)
        loss = model(input_ids=x, labels=y, use_cache=False).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 100 == 0 or step == args.steps:
            model.eval()
            print(
                f"step {step:5d}  loss {loss.item():.3f}  held-out token accuracy "
                f"{accuracy():.3f}  {time.perf_counter() - started:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
