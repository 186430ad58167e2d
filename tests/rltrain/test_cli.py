"""``ifrl rl sft|grpo|dpo --config FILE.yaml [--key value ...]`` and ``ifrl rl merge``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from rl_helpers import PROMPTS, conversations, write_rows

from ifrl.core.config import ConfigError, load_config
from ifrl.rltrain.cli import cli, command
from ifrl.rltrain.grpo import GRPOConfig
from ifrl.rltrain.sft import SFTConfig


def test_overrides_and_yaml_are_typed_and_checked(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("model: m\nmax_steps: 3\nreward_funcs: [a:b, c:d]\n")
    seen: list[GRPOConfig] = []

    def recorder(config: GRPOConfig) -> Any:
        seen.append(config)
        raise SystemExit(0)

    # `ifrl rl grpo`'s command with the trainer replaced: what did it parse?
    grpo = command("grpo", recorder, GRPOConfig, "GRPO.")
    args = ["--learning-rate", "0.5", "--use_lora", "--lora_target_modules=q_proj,v_proj"]
    res = CliRunner().invoke(grpo, ["--config", str(cfg_file), *args])
    assert res.exit_code == 0, res.output
    cfg = seen[0]
    assert cfg.max_steps == 3 and cfg.learning_rate == 0.5 and cfg.use_lora is True
    assert cfg.reward_funcs == ("a:b", "c:d") and cfg.lora_target_modules == ("q_proj", "v_proj")
    with pytest.raises(ConfigError, match="did you mean 'learning_rate'"):
        load_config(GRPOConfig, cfg_file, {"learning_rat": "1"})
    with pytest.raises(ConfigError, match="max_steps: expected int"):
        load_config(GRPOConfig, None, {"max_steps": "many"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("loss_type: ppo\n")
    with pytest.raises(ConfigError, match="loss_type"):
        load_config(GRPOConfig, bad)


def test_help_documents_every_field() -> None:
    out = CliRunner().invoke(cli, ["grpo", "--help"])
    assert out.exit_code == 0
    for name in ("num_generations", "epsilon_high", "scale_rewards", "save_steps", "lora_r"):
        assert name in out.output
    assert "Completions sampled per prompt" in out.output


def test_cli_trains_lora_sft_then_merges(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = write_rows(tmp_path / "d.jsonl", conversations(8))
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(
        f"model: {tiny_model_dir}\ndata: {data}\nmax_steps: 2\nper_device_batch_size: 2\nprogress: false\n"
    )
    run = tmp_path / "run"
    res = CliRunner().invoke(
        cli,
        [
            "sft",
            "--config",
            str(cfg),
            "--output_dir",
            str(run),
            "--use_lora",
            "--lora_r",
            "4",
            "--learning_rate",
            "1e-2",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index('{"steps"') :].splitlines()[0])
    assert summary["steps"] == 2
    adapter = run / "final"
    assert (adapter / "adapter_config.json").exists()
    merged = tmp_path / "merged"
    res = CliRunner().invoke(cli, ["merge", str(adapter), str(merged)])
    assert res.exit_code == 0, res.output
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        plain = AutoModelForCausalLM.from_pretrained(merged)(ids).logits
        peft = AutoPeftModelForCausalLM.from_pretrained(str(adapter))(ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(ids).logits
    torch.testing.assert_close(plain, peft, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(plain, base, atol=1e-4)


def test_cli_rejects_unknown_key(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = write_rows(tmp_path / "p.jsonl", PROMPTS)
    res = CliRunner().invoke(
        cli, ["grpo", "--model", str(tiny_model_dir), "--data", str(data), "--num_generation", "4"]
    )
    assert res.exit_code != 0
    assert "--num_generations" in res.output  # the option it meant
    cfg = tmp_path / "c.yaml"
    cfg.write_text("num_generation: 4\n")
    res = CliRunner().invoke(cli, ["grpo", "--config", str(cfg)])
    assert res.exit_code != 0
    assert "did you mean 'num_generations'" in res.output


def test_itool_command_names_the_recipe() -> None:
    res = CliRunner().invoke(cli, ["itool", "--config", "itool.yaml", "--max_steps", "3"])
    assert res.exit_code == 2
    assert "ifrl pipeline run itool --config FILE" in res.output


def test_sft_config_defaults_validate() -> None:
    SFTConfig().validate()
