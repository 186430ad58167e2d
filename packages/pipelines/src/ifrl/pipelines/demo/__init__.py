"""``ifrl demo``: small configurations of the four recipes on the micro policies, and a report.

Runs, offline on a CPU: ``toolace`` (API pool → dialogs → verification → SFT → held-out
BFCL-style eval), ``itool`` from the toolace run's SFT model (deficiency → MCTS pairs → SimPO →
eval), ``if-rlvr`` with the hard verifiers as GRPO's reward, the same GRPO run with a
``NoisyJudge`` reward that misses most non-compliant responses (the reward-hacking experiment:
the judge's reward beside the true compliance), and ``edu-prm`` on synthetic arithmetic (EDU
labels with the uniform Monte Carlo baseline's cost beside them, PRM, Best-of-N). Writes
``report.md``, ``report.html`` (plots embedded), ``report-overview.png`` (one picture with the
headline numbers) and ``summary.json`` in ``OUT/demo-<time>/``.
"""

from ifrl.pipelines.demo.configs import RUNS, demo_configs
from ifrl.pipelines.demo.run import latest_run, run_demo

__all__ = ["RUNS", "demo_configs", "latest_run", "run_demo"]
