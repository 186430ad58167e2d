"""ifrl.core: the shared records and their codecs, JSONL I/O, tool-call formats and matching,
statistics, generation backends, the config and CLI kits, injection-resistant judge prompts and
verdict parsing, and tiny models."""

from importlib.metadata import PackageNotFoundError, version

from ifrl.core.cli import GeneratorOptions, config_options, generator_options
from ifrl.core.config import ConfigError, from_mapping, load_config, opt, to_dict
from ifrl.core.errors import IfrlError, JSONLError, MissingExtraError, RecordError
from ifrl.core.generation import Generator, Prompt, generator_for, make_generator, register_backend
from ifrl.core.jsonl import JSONLWriter, ReadStats, read_jsonl, write_json, write_jsonl
from ifrl.core.judging import Fence, VerdictGrammar
from ifrl.core.matcher import MatcherConfig, MatchResult, ToolCallReward, match_calls, match_text
from ifrl.core.records import (
    Completion,
    ConstrainedPrompt,
    ConstraintSpec,
    Conversation,
    Cost,
    Message,
    PreferencePair,
    RawText,
    RewardFn,
    SamplingParams,
    StepSample,
    ToolCall,
    ToolSpec,
    Verdict,
)
from ifrl.core.registry import Registry, UnknownNameError
from ifrl.core.stats import Metric, auroc, bootstrap, majority_vote, proportion, wilson_interval
from ifrl.core.tiny import build_tiny_model
from ifrl.core.toolcalls import (
    CallFormat,
    ToolCallParseError,
    detect_format,
    parse_tool_calls,
    render_tool_calls,
)

try:
    __version__ = version("ifrl-core")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "CallFormat",
    "Completion",
    "ConfigError",
    "ConstrainedPrompt",
    "ConstraintSpec",
    "Conversation",
    "Cost",
    "Fence",
    "Generator",
    "GeneratorOptions",
    "IfrlError",
    "JSONLError",
    "JSONLWriter",
    "MatchResult",
    "MatcherConfig",
    "Message",
    "Metric",
    "MissingExtraError",
    "PreferencePair",
    "Prompt",
    "RawText",
    "ReadStats",
    "RecordError",
    "Registry",
    "RewardFn",
    "SamplingParams",
    "StepSample",
    "ToolCall",
    "ToolCallParseError",
    "ToolCallReward",
    "ToolSpec",
    "UnknownNameError",
    "Verdict",
    "VerdictGrammar",
    "__version__",
    "auroc",
    "bootstrap",
    "build_tiny_model",
    "config_options",
    "detect_format",
    "from_mapping",
    "generator_for",
    "generator_options",
    "load_config",
    "majority_vote",
    "make_generator",
    "match_calls",
    "match_text",
    "opt",
    "parse_tool_calls",
    "proportion",
    "read_jsonl",
    "register_backend",
    "render_tool_calls",
    "to_dict",
    "wilson_interval",
    "write_json",
    "write_jsonl",
]
