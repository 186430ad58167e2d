"""Can a micro policy find a value named in the request and copy it? A probe of the `tool`
micro policy's failure (issue 24): it learns the call format and the tools' names, but writes
format-plausible values ("AP11110") instead of the request's ("AP30451").

The probe strips the task down to that one skill. Each `tool` training request becomes
``<request>\\nWhat is the <argument>?`` with, as the answer, the value of one of its string
arguments that occurs verbatim in the request (seeded choice). A model of the `tool` spec's
size (same tokenizer and chat template) is trained from random weights on these with the same
SFT trainer and the schedule the `tool` build used before it started from the induction circuit
(``ifrl.pipelines.micro.circuits``): 700 steps at lr 2e-3. The probe then reports greedy exact-match
accuracy on the requests of the spec's `eval_seen` split (never trained on), with a Wilson 95%
interval.

``--copy-steps N`` first trains N steps of verbatim copying (random token strings, then the same
string again, loss on the copy only). Those steps teach copying a repeated string, not finding
the value an argument names. Comparing the two runs tells the two skills apart.

    python bench/micro_copy_probe.py                      # about 5 min on one thread
    python bench/micro_copy_probe.py --copy-steps 300     # + about 2 min

Measured on 2026-12-05 (shared 2-core machine, 1 thread, 700 steps x 4 packed rows, 2,686
training items, 93 test items):

- without copy steps: 2/93 exact ([0.006, 0.075]), final loss 2.04;
- with 300 copy steps (copy loss 6.59 -> 0.015): 0/93 ([0, 0.040]), final loss 2.42;
- with ``--steps 2100`` (three times the schedule): 2/93 ([0.006, 0.075]);
- with ``--train-examples 20000`` (17,896 requests, each seen once): 0/93 ([0, 0.040]);
- with ``--lr 6e-4`` (the default is 2e-3): 1/93 ([0.002, 0.058]).

The model writes values of the right shape ('PO24554' for 'PO68620'). It copies a repeated
string perfectly, yet it does not learn to find and copy the value an argument names.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from typing import Any

from ifrl.core.records import Conversation, Message


def probe_items(convs: list[Conversation], seed: int) -> list[Conversation]:
    """One question per conversation whose call has a string argument found verbatim in the
    request; the answer is that value."""
    rng = random.Random(seed)
    out = []
    for conv in convs:
        request = conv.messages[0].content or ""
        call = conv.messages[1].tool_calls[0]
        found = sorted(
            (k, v) for k, v in call.arguments.items() if isinstance(v, str) and v in request
        )
        if not found:
            continue
        name, value = rng.choice(found)
        question = f"{request}\nWhat is the {name}?"
        out.append(
            Conversation(
                messages=(
                    Message(role="user", content=question),
                    Message(role="assistant", content=value),
                )
            )
        )
    return out


def copy_pretrain(model: Any, tokenizer: Any, steps: int, seed: int) -> list[float]:
    """``steps`` of verbatim copying: 32 random strings of 24 tokens, a separator, the string
    again; loss on the copy. Returns the loss every 50 steps."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    sep = tokenizer.convert_tokens_to_ids("<|im_end|>")
    size, width = 32, 24
    losses = []
    model.train()
    for step in range(1, steps + 1):
        x = torch.randint(10, len(tokenizer) - 10, (size, width), generator=generator)
        ids = torch.cat([x, torch.full((size, 1), sep), x], 1)
        labels = ids.clone()
        labels[:, : width + 1] = -100
        loss = model(input_ids=ids, labels=labels, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 50 == 0:
            losses.append(round(loss.item(), 3))
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=700, help="SFT steps")
    parser.add_argument("--copy-steps", type=int, default=0, help="verbatim-copy steps first")
    parser.add_argument(
        "--train-examples", type=int, default=0, help="training requests (0: the tool spec's)"
    )
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from ifrl.core.chat import render_prompt
    from ifrl.core.stats import proportion
    from ifrl.pipelines.micro.build import domain_tokenizer, greedy, new_model, sft_config
    from ifrl.pipelines.micro.spec import get_spec
    from ifrl.pipelines.micro.tools import COMPACT_TEMPLATE, tool_data
    from ifrl.rltrain.sft import SFTTrainer

    torch.set_num_threads(args.threads)
    spec = get_spec("tool")
    spec = replace(
        spec,
        init="random",
        steps=args.steps,
        seed=args.seed,
        train_examples=args.train_examples or spec.train_examples,
        learning_rate=args.lr,
    )
    data = tool_data(spec)
    train, test = probe_items(data["train"], spec.seed), probe_items(data["eval_seen"], spec.seed)
    tokenizer = domain_tokenizer(train, 0, COMPACT_TEMPLATE)
    model = new_model(spec, tokenizer)
    print(f"probe items: {len(train)} train, {len(test)} test (eval_seen requests)", flush=True)
    started = time.perf_counter()
    if args.copy_steps:
        torch.manual_seed(spec.seed)
        losses = copy_pretrain(model, tokenizer, args.copy_steps, spec.seed)
        print(f"copy steps: {args.copy_steps}, loss every 50: {losses}", flush=True)
    with tempfile.TemporaryDirectory() as run_dir:
        config = sft_config(spec, run_dir)
        torch.manual_seed(spec.seed)
        trainer = SFTTrainer(config, model=model, tokenizer=tokenizer, train_data=train)
        result = trainer.train()
    policy: Any = trainer.policy
    policy.eval()
    prompts = [render_prompt(tokenizer, Conversation(messages=c.messages[:1])) for c in test]
    outputs = [o.strip() for o in greedy(policy, tokenizer, prompts, 48)]
    exact = sum(o == c.messages[1].content for o, c in zip(outputs, test))
    m = proportion(exact, len(test))
    seconds = time.perf_counter() - started
    print(
        f"SFT: {spec.steps} steps x {spec.batch_size} packed rows, final loss "
        f"{result.metrics.get('loss'):.3f}; {seconds:.0f} s"
    )
    for out, conv in list(zip(outputs, test))[:6]:
        print(f"  wanted {conv.messages[1].content!r}, wrote {out!r}")
    print(f"exact={exact}/{len(test)} value={m.value:.3f} ci95=[{m.ci_low:.3f}, {m.ci_high:.3f}]")


if __name__ == "__main__":
    main()
