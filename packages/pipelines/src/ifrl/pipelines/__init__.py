"""ifrl.pipelines: end-to-end recipes (named, resumable stages over a run directory) that compose
the ifrl libraries, and ``ifrl demo``.

>>> from ifrl.pipelines import get_recipe, run_recipe      # doctest: +SKIP
>>> from ifrl.core import load_config                       # doctest: +SKIP
>>> recipe = get_recipe("toolace")                          # doctest: +SKIP
>>> run_recipe(recipe, load_config(recipe.config_cls, "examples/toolace-tiny.yaml"),
...            "runs/toolace")                               # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from ifrl.pipelines.demo import demo_configs, run_demo
from ifrl.pipelines.micro import BuildResult, build_micro
from ifrl.pipelines.recipe import (
    RECIPES,
    Recipe,
    RecipeError,
    Stage,
    StageContext,
    get_recipe,
    recipe_names,
    run_recipe,
)

try:
    __version__ = version("ifrl-pipelines")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "RECIPES",
    "BuildResult",
    "Recipe",
    "RecipeError",
    "Stage",
    "StageContext",
    "__version__",
    "build_micro",
    "demo_configs",
    "get_recipe",
    "recipe_names",
    "run_demo",
    "run_recipe",
]
