"""ifrl.prm: EDU-PRM: branch, label, train and score process reward models."""

__version__ = "0.1.0"
