"""ifrl.core: the shared records, JSONL I/O, tool-call formats, generation backends and CLI shell."""

from ifrl.core.errors import IfrlError, JSONLError, MissingExtraError, RecordError
from ifrl.core.generation import Generator, Prompt, make_generator, register_backend
from ifrl.core.jsonl import JSONLWriter, ReadStats, read_jsonl, write_json, write_jsonl
from ifrl.core.records import (
    Completion,
    ConstraintSpec,
    Conversation,
    Message,
    PreferencePair,
    SamplingParams,
    StepSample,
    ToolCall,
    ToolSpec,
    Verdict,
)
from ifrl.core.registry import Registry, UnknownNameError

__version__ = "0.1.0"

__all__ = [
    "Completion",
    "ConstraintSpec",
    "Conversation",
    "Generator",
    "IfrlError",
    "JSONLError",
    "JSONLWriter",
    "Message",
    "MissingExtraError",
    "PreferencePair",
    "Prompt",
    "ReadStats",
    "RecordError",
    "Registry",
    "SamplingParams",
    "StepSample",
    "ToolCall",
    "ToolSpec",
    "UnknownNameError",
    "Verdict",
    "make_generator",
    "read_jsonl",
    "register_backend",
    "write_json",
    "write_jsonl",
]
