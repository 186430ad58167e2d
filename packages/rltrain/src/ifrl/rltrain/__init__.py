"""ifrl.rltrain: Train: SFT, GRPO, DPO/SimPO, MCTS preference pairs, iTool."""

__version__ = "0.1.0"
