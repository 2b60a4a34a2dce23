"""A small declarative validator for YAML that keeps line numbers.

PyYAML's composed node tree still knows where each value came from, so we
validate the nodes rather than the loaded dict: every error can name the file,
the line, the offending key and what would fix it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A configuration problem a user can fix: where it is, what is wrong, what to do."""

    def __init__(self, file: str, line: int | None, message: str, hint: str = "") -> None:
        self.file = file
        self.line = line
        self.message = message
        self.hint = hint
        where = f"{file}:{line}" if line else file
        text = f"{where}: {message}"
        if hint:
            text += f"\n  fix: {hint}"
        super().__init__(text)


@dataclass
class _Ctx:
    file: str
    loader: yaml.SafeLoader

    def fail(self, node: yaml.Node | None, message: str, hint: str = "") -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return ConfigError(self.file, line, message, hint)

    def scalar(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)


class Spec:
    """One expected shape; ``check`` turns a YAML node into a Python value or raises."""

    what = "a value"
    example = ""

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _wrong(self, node: yaml.Node, path: str, ctx: _Ctx) -> ConfigError:
        got = _describe(node, ctx)
        hint = f"write it as {self.example}" if self.example else ""
        return ctx.fail(node, f"'{path}' must be {self.what}, got {got}", hint)


def _describe(node: yaml.Node, ctx: _Ctx) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = ctx.scalar(node)
    return "nothing (empty value)" if value is None else repr(value)


@dataclass
class Str(Spec):
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    example: str = "a text, e.g. 'name'"

    @property
    def what(self) -> str:  # type: ignore[override]
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return "a text"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self._wrong(node, path, ctx)
        value = ctx.scalar(node)
        if value is None or isinstance(value, bool | dict | list):
            raise self._wrong(node, path, ctx)
        value = str(value)
        if self.choices and value not in self.choices:
            close = difflib.get_close_matches(value, self.choices, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "use " + " or ".join(self.choices)
            raise ctx.fail(node, f"'{path}' is {value!r}; expected {self.what}", hint)
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise ctx.fail(node, f"'{path}' is {value!r}, which is not valid here", self.example)
        return value


@dataclass
class Num(Spec):
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False

    @property
    def what(self) -> str:  # type: ignore[override]
        kind = "a whole number" if self.integer else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{kind} from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{kind} of at least {self.minimum:g}"
        return kind

    @property
    def example(self) -> str:  # type: ignore[override]
        return f"{self.what}, e.g. {int(self.minimum or 0) + 1}"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> float | int:
        value = ctx.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok_type or (self.integer and isinstance(value, float) and not value.is_integer()):
            raise self._wrong(node, path, ctx)
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise ctx.fail(node, f"'{path}' is {value}; it must be {self.what}", self.example)
        return int(value) if self.integer else float(value)


@dataclass
class Bool(Spec):
    what: str = "true or false"
    example: str = "true or false"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> bool:
        value = ctx.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            raise self._wrong(node, path, ctx)
        return value


@dataclass
class ListOf(Spec):
    item: Spec
    min_items: int = 0
    what: str = "a list"
    example: str = "a list, e.g. [a, b] or one '- item' per line"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> list[Any]:
        if not isinstance(node, yaml.SequenceNode):
            raise self._wrong(node, path, ctx)
        if len(node.value) < self.min_items:
            raise ctx.fail(node, f"'{path}' needs at least {self.min_items} item(s)")
        return [self.item.check(child, f"{path}[{i}]", ctx) for i, child in enumerate(node.value)]


@dataclass
class MapOf(Spec):
    """A mapping with free keys (e.g. identifier type → limit)."""

    value: Spec
    key: Spec = field(default_factory=Str)
    what: str = "a mapping"
    example: str = "a mapping, one 'key: value' per line"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise self._wrong(node, path, ctx)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.key.check(key_node, f"{path} key", ctx)
            if key in out:
                raise ctx.fail(key_node, f"'{path}.{key}' is given twice", "keep one of them")
            out[key] = self.value.check(value_node, f"{path}.{key}", ctx)
        return out


@dataclass
class Obj(Spec):
    """A mapping with known keys; unknown keys are errors with a did-you-mean."""

    fields: dict[str, Spec]
    required: tuple[str, ...] = ()
    what: str = "a mapping"
    example: str = "a mapping, one 'key: value' per line"
    post: Callable[[dict[str, Any], yaml.Node, str, _Ctx], None] | None = None

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise self._wrong(node, path, ctx)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = ctx.scalar(key_node)
            where = f"{path}.{key}" if path else str(key)
            if key not in self.fields:
                close = difflib.get_close_matches(str(key), list(self.fields), n=1)
                hint = f"did you mean {close[0]!r}?" if close else ""
                expected = ", ".join(self.fields)
                raise ctx.fail(
                    key_node,
                    f"unknown key {key!r} in '{path or 'top level'}'; expected one of: {expected}",
                    hint,
                )
            if key in out:
                raise ctx.fail(key_node, f"'{where}' is given twice", "keep one of them")
            out[key] = self.fields[key].check(value_node, where, ctx)
        for name in self.required:
            if name not in out:
                raise ctx.fail(
                    node,
                    f"'{path or 'top level'}' is missing the required key {name!r}",
                    f"add '{name}: ...' ({self.fields[name].what})",
                )
        if self.post:
            self.post(out, node, path, ctx)
        return out


def parse_yaml(text: str, file: str, spec: Spec) -> dict[str, Any]:
    """Parse ``text`` and validate it against ``spec``; raise ConfigError on any problem."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            problem = exc.problem or "invalid YAML"
            raise ConfigError(
                file,
                line,
                f"this is not valid YAML: {problem}",
                "check the indentation and that every 'key: value' has a space after the colon",
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(file, None, f"this is not valid YAML: {exc}") from None
        if node is None:
            return {}
        return spec.check(node, "", _Ctx(file=file, loader=loader))
    finally:
        loader.dispose()


def read_yaml_file(path: Path, spec: Spec) -> dict[str, Any]:
    """Read and validate a YAML file, turning I/O and encoding problems into ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path),
            None,
            "the configuration file does not exist",
            "check the path given to --config",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), None, f"the file is not UTF-8 text ({exc.reason})", "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read the file: {exc.strerror}") from None
    return parse_yaml(text, str(path), spec)
