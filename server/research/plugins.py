"""Dealer strategies by name: entry points, import paths, and how a scenario's config reaches them.

A scenario names a strategy in one of two ways:

* an **entry-point name** in the group ``rfqsim.dealer_bots`` (``strategy = "flow"``): third-party
  packages register their bots there, e.g. in their ``pyproject.toml``::

      [project.entry-points."rfqsim.dealer_bots"]
      tiny = "tiny_dealer:TinyDealer"

  (``dealer_bots/_template`` is a package skeleton to start from). A handful of built-in names
  (:data:`BUILTIN_STRATEGIES`) work even when nothing is registered; a registered entry point of
  the same name wins;
* an **import path** ``module:Class`` (``strategy = "dealer_bots.reference.mid_spread:MidSpreadDealer"``).

The target is a class (or any callable) returning a dealer strategy (``on_inquiry`` and
``on_feedback``, see :mod:`server.bots.protocol`). The dealer's ``config`` table reaches it by
this convention:

1. **A config dataclass.** If the target has a ``config_class`` attribute, or its ``__init__``
   takes a ``config`` parameter annotated with a dataclass (``config: MyConfig | None = None``),
   the table is validated against that dataclass (nested tables for nested dataclass fields,
   arrays for tuples; unknown keys are errors; the dataclass's own ``__post_init__`` checks run)
   and the bot is built as ``Class(config=MyConfig(**table))``. A pydantic model works the same.
2. **Keyword arguments** otherwise: ``Class(**table)``; unknown keywords are errors.

If the config dataclass has a ``seed`` field and the table does not set it, the simulation sets
it to the dealer's own random stream (derived from the run's seed and the dealer's id), so a bot
that draws random numbers is reproducible and independent of every other component.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from server.bots.protocol import DealerStrategy

__all__ = [
    "BUILTIN_STRATEGIES",
    "ENTRY_POINT_GROUP",
    "ConfigProblem",
    "StrategyError",
    "StrategyRef",
    "available_strategies",
    "build_strategy",
    "config_class",
    "make_config",
    "resolve_strategy",
]

ENTRY_POINT_GROUP = "rfqsim.dealer_bots"

BUILTIN_STRATEGIES: dict[str, str] = {
    "mid_spread": "dealer_bots.reference.mid_spread:MidSpreadDealer",
    "risk": "dealer_bots.reference.risk_dealer:RiskDealer",
    "flow": "dealer_bots.reference.strategies:FlowDealer",
    "etf_hedging": "dealer_bots.reference.strategies:EtfHedgingDealer",
    "axe": "dealer_bots.reference.strategies:AxeDealer",
    "cautious": "dealer_bots.reference.strategies:CautiousDealer",
}
"""Names that resolve without an entry point (a registered entry point of the same name wins)."""

Loc = tuple[str | int, ...]


class StrategyError(ValueError):
    """A strategy name that resolves to nothing usable."""


class ConfigProblem(ValueError):
    """A dealer config that does not fit its strategy: ``problems`` are (location inside the config, reason)."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc)) or 'config'}: {reason}" for loc, reason in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class StrategyRef:
    name: str  # as the scenario wrote it
    target: str  # "module:attr"
    factory: Callable[..., Any]
    source: str  # "entry point", "built-in" or "import path"

    @property
    def short_name(self) -> str:
        """A readable label: the entry-point name, or the class name of an import path."""
        return self.name if ":" not in self.name else self.name.rsplit(":", 1)[1].rsplit(".", 1)[-1]


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)  # the first distribution on sys.path wins, as importlib does
    return found


def available_strategies() -> dict[str, str]:
    """Every strategy name that resolves without an import path: name -> ``module:attr`` (sorted)."""
    names = dict(BUILTIN_STRATEGIES)
    names.update({name: ep.value for name, ep in _entry_points().items()})
    return dict(sorted(names.items()))


def registered_strategies() -> dict[str, str]:
    """Only the names registered as entry points (third-party and this distribution's own)."""
    return {name: ep.value for name, ep in sorted(_entry_points().items())}


def _load(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise StrategyError(f"{target!r} is not module:Class")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise StrategyError(f"module {module_name!r} has no {attr!r}") from None
    if not callable(obj):
        raise StrategyError(f"{target!r} is not a class or callable")
    return typing.cast(Callable[..., Any], obj)


def resolve_strategy(name: str) -> StrategyRef:
    """The factory a scenario's ``strategy`` names (entry point, built-in name or ``module:Class``)."""
    name = name.strip()
    if ":" in name:
        return StrategyRef(name, name, _load(name), "import path")
    eps = _entry_points()
    if name in eps:
        ep = eps[name]
        try:
            factory = ep.load()
        except Exception as exc:  # a broken plug-in must say so, not crash the loader
            raise StrategyError(f"entry point {name!r} ({ep.value}) failed to load: "
                                f"{type(exc).__name__}: {exc}") from None
        if not callable(factory):
            raise StrategyError(f"entry point {name!r} ({ep.value}) is not a class or callable")
        return StrategyRef(name, ep.value, factory, "entry point")
    if name in BUILTIN_STRATEGIES:
        return StrategyRef(name, BUILTIN_STRATEGIES[name], _load(BUILTIN_STRATEGIES[name]), "built-in")
    known = ", ".join(available_strategies()) or "none"
    raise StrategyError(f"no strategy {name!r}: not an entry point of group {ENTRY_POINT_GROUP!r} nor a "
                        f"built-in name, and not module:Class (known names: {known})")


# ---- the config convention ---------------------------------------------------------------------


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj)
    except Exception:
        return {}


def _config_types(annotation: Any) -> list[type]:
    """Dataclass or pydantic-model types in an annotation (``X``, ``X | None``, ``Optional[X]``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [t for a in typing.get_args(annotation) for t in _config_types(a)]
    if isinstance(annotation, type) and (dataclasses.is_dataclass(annotation) or issubclass(annotation, BaseModel)):
        return [annotation]
    return []


def config_class(factory: Callable[..., Any]) -> type | None:
    """The config dataclass (or pydantic model) of a strategy factory, or None (keyword convention)."""
    declared = getattr(factory, "config_class", None)
    if isinstance(declared, type) and _config_types(declared):
        return declared
    init: Any = typing.cast(Any, factory).__init__ if isinstance(factory, type) else factory
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return None
    if "config" not in params:
        return None
    found = _config_types(_hints(init).get("config"))
    return found[0] if len(found) == 1 else None


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(cls: type) -> TypeAdapter[Any] | None:
    if cls not in _ADAPTERS:
        try:
            _ADAPTERS[cls] = TypeAdapter(cls)
        except Exception:  # a type pydantic cannot describe: fall back to calling the class
            return None
    return _ADAPTERS[cls]


def _nested_types(cls: type) -> dict[str, list[type]]:
    hints = _hints(cls)
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls) if f.init]
    else:
        names = list(typing.cast(type[BaseModel], cls).model_fields)
    return {n: _config_types(hints.get(n)) for n in names}


def _unknown_keys(cls: type, raw: Mapping[str, Any], loc: Loc) -> list[tuple[Loc, str]]:
    fields = _nested_types(cls)
    problems: list[tuple[Loc, str]] = []
    for key, value in raw.items():
        if key not in fields:
            problems.append(((*loc, key), f"unknown key; {cls.__name__} takes {', '.join(fields) or 'nothing'}"))
        elif isinstance(value, Mapping) and len(fields[key]) == 1:
            problems.extend(_unknown_keys(fields[key][0], value, (*loc, key)))
    return problems


def _class_at(cls: type, loc: Loc) -> type | None:
    for part in loc:
        if not isinstance(part, str):
            return None
        nested = _nested_types(cls).get(part, [])
        if len(nested) != 1:
            return None
        cls = nested[0]
    return cls


def _reason(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    bounds = {"greater_than": ("> ", "gt"), "greater_than_equal": (">= ", "ge"), "less_than": ("< ", "lt"),
              "less_than_equal": ("<= ", "le")}
    if kind in bounds:
        op, key = bounds[kind]
        return f"must be {op}{ctx.get(key)}"
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown key"
    msg = str(err.get("msg", ""))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, "):]
    return msg.replace("Input should be", "must be").replace("Field required", "required")


def pydantic_problems(cls: type | None, exc: ValidationError) -> list[tuple[Loc, str]]:
    """(location, reason) of every error; a ``ValueError`` raised by a dataclass's own check that names
    one of its fields first (``"risk_aversion must be non-negative"``) is placed on that field."""
    out: list[tuple[Loc, str]] = []
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        reason = _reason(err)
        if cls is not None and err.get("type") == "value_error":
            at = _class_at(cls, loc)
            first, _, rest = reason.partition(" ")
            if at is not None and rest and first in _nested_types(at):
                loc, reason = (*loc, first), rest
        out.append((loc, reason))
    return out


def make_config(cls: type, raw: Mapping[str, Any]) -> Any:
    """An instance of config class ``cls`` from a table; ``ConfigProblem`` names what does not fit."""
    problems = _unknown_keys(cls, raw, ())
    if problems:
        raise ConfigProblem(problems)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            raise ConfigProblem(pydantic_problems(cls, exc)) from None
    adapter = _adapter(cls)
    try:
        if adapter is not None:
            return adapter.validate_python(dict(raw))
        return cls(**raw)
    except ValidationError as exc:
        raise ConfigProblem(pydantic_problems(cls, exc)) from None
    except (TypeError, ValueError) as exc:
        raise ConfigProblem([((), str(exc))]) from None


def _keyword_problems(factory: Callable[..., Any], keys: Iterable[str]) -> list[tuple[Loc, str]]:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []
    accepted = [n for n, p in params.items()
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    label = getattr(factory, "__name__", "the strategy")
    return [((k,), f"unknown key; {label} takes {', '.join(accepted) or 'no arguments'}")
            for k in keys if k not in accepted]


def _with_seed(cls: type, raw: Mapping[str, Any], seed: int | None) -> dict[str, Any]:
    out = dict(raw)
    if seed is not None and "seed" not in out and "seed" in _nested_types(cls):
        out["seed"] = seed
    return out


def build_strategy(ref: StrategyRef, config: Mapping[str, Any] | None = None, *,
                   seed: int | None = None) -> DealerStrategy:
    """Build the bot by the convention above; ``ConfigProblem`` if the config does not fit.

    ``seed`` fills a ``seed`` field of the config dataclass the table leaves unset.
    """
    raw = dict(config or {})
    cls = config_class(ref.factory)
    if cls is not None:
        bot = ref.factory(config=make_config(cls, _with_seed(cls, raw, seed)))
    else:
        problems = _keyword_problems(ref.factory, raw)
        if problems:
            raise ConfigProblem(problems)
        try:
            bot = ref.factory(**raw)
        except (TypeError, ValueError) as exc:
            raise ConfigProblem([((), f"{type(exc).__name__}: {exc}")]) from None
    if not isinstance(bot, DealerStrategy):
        raise StrategyError(f"{ref.target} built a {type(bot).__name__}, which is not a dealer strategy "
                            "(it needs on_inquiry and on_feedback)")
    return bot
