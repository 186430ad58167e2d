"""ifrl.evals: Evaluate models: IFEval, IFBench, BFCL, GSM8K, PRM."""

__version__ = "0.1.0"
