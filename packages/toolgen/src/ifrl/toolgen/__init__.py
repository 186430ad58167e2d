"""ifrl.toolgen: synthesize, describe and verify function-calling data (ToolACE), measure the
judge layer on planted defects, and the per-round transformations of teacher-free
self-improvement (ToolACE-DEV).

>>> from ifrl.toolgen import DialogGenerator, Planner, ProgrammaticApiGenerator, rule_issues
>>> apis = list(ProgrammaticApiGenerator(seed=0).generate(20))
>>> dialog = next(DialogGenerator(Planner(apis)).run([0])).dialog
>>> rule_issues(dialog)
[]

An API of the pool is a :class:`~ifrl.core.records.ToolSpec` whose ``responses`` is the result
schema and whose ``meta`` holds the ToolACE metadata (:class:`ApiInfo`).
"""

from importlib.metadata import PackageNotFoundError, version

from ifrl.toolgen.apis import (
    ApiGenerator,
    ApiInfo,
    Deduplicator,
    ModelApiGenerator,
    ProgrammaticApiGenerator,
    SentenceTransformerEmbedder,
    api_problems,
    build_pool,
    expand_tree,
    load_apis,
    make_api,
    read_api,
)
from ifrl.toolgen.backend import BackendFailure as BackendFailure
from ifrl.toolgen.backend import safe_generate as safe_generate
from ifrl.toolgen.defects import DEFECTS, plant
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog, DialogType
from ifrl.toolgen.dialog_stats import dialog_stats
from ifrl.toolgen.dialogs.agents import AssistantAgent, ToolAgent, UserAgent
from ifrl.toolgen.dialogs.complexity import ComplexityEvaluator, HFLossScorer
from ifrl.toolgen.dialogs.generator import DialogGenerator, DialogResult
from ifrl.toolgen.dialogs.model_agents import ModelAssistant, ModelTool, ModelUser
from ifrl.toolgen.dialogs.plans import Planner
from ifrl.toolgen.exports import (
    ExportFormat,
    ExportFormatError,
    export,
    from_toolace,
    import_toolace,
    to_sharegpt,
    to_toolace,
)
from ifrl.toolgen.judge_audit import JudgeAuditConfig, plant_items, run_judge_audit
from ifrl.toolgen.judges import JudgeVerifier
from ifrl.toolgen.seeds import SEED_TREE, Domain
from ifrl.toolgen.selfevolve import (
    RoundConfig,
    RoundStats,
    build_subtasks,
    propose_tools,
    read_queries,
    run_round,
    vote,
)
from ifrl.toolgen.tool_schema import normalize_schema, sample_value, schema_problems, value_issues
from ifrl.toolgen.verify import (
    Issue,
    VerifyReport,
    call_issues,
    rule_issues,
    verify_file,
    verify_records,
)

try:
    __version__ = version("ifrl-toolgen")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "DEFECTS",
    "DIALOG_TYPES",
    "SEED_TREE",
    "ApiGenerator",
    "ApiInfo",
    "AssistantAgent",
    "ComplexityEvaluator",
    "Deduplicator",
    "Dialog",
    "DialogGenerator",
    "DialogResult",
    "DialogType",
    "Domain",
    "ExportFormat",
    "ExportFormatError",
    "HFLossScorer",
    "Issue",
    "JudgeAuditConfig",
    "JudgeVerifier",
    "ModelApiGenerator",
    "ModelAssistant",
    "ModelTool",
    "ModelUser",
    "Planner",
    "ProgrammaticApiGenerator",
    "RoundConfig",
    "RoundStats",
    "SentenceTransformerEmbedder",
    "ToolAgent",
    "UserAgent",
    "VerifyReport",
    "__version__",
    "api_problems",
    "build_pool",
    "build_subtasks",
    "call_issues",
    "dialog_stats",
    "expand_tree",
    "export",
    "from_toolace",
    "import_toolace",
    "load_apis",
    "make_api",
    "normalize_schema",
    "plant",
    "plant_items",
    "propose_tools",
    "read_api",
    "read_queries",
    "rule_issues",
    "run_judge_audit",
    "run_round",
    "sample_value",
    "schema_problems",
    "to_sharegpt",
    "to_toolace",
    "value_issues",
    "verify_file",
    "verify_records",
    "vote",
]
