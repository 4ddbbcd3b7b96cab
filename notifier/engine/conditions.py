"""A rule's `where` as a plain Python function, built once from Jinja's own parse of the expression.

Jinja evaluates an expression by rendering a template: a new context, a generated function, and for each
`job.state` a sandboxed attribute lookup that fails on the view before it reads the key. At a few hundred
thousand evaluations per poll cycle that is most of the engine's time. So each `where` is compiled here into
closures over Jinja's own syntax tree, for the node types rules use: literals, lists and tuples, the root
names, attribute and item access, comparisons, `and`/`or`/`not`, arithmetic, `~`, `if … else`, and the
environment's tests and filters. Each node is evaluated exactly as Jinja's generated code evaluates it:
attribute and item access through the sandbox's own `getattr`/`getitem` (so its refusals and its undefined
values are the same), tests and filters called as Jinja calls them. The one shortcut: a plain field of a root
(`job.state`, `log.fatal_error`, `event.kind`) is read from the model rather than from its view, which holds
the same value. Everything else — calls, slices, names other than the roots, filters that need a template
context — makes the whole expression stay with Jinja, sandbox and all (`Condition.compiled` says which).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.environment import Environment, TemplateExpression
from jinja2.parser import Parser
from jinja2.runtime import Undefined, str_join
from jinja2.utils import _PassArg

from notifier.engine.context import ROOTS
from notifier.engine.facts import EventFacts, FactReader, field_reader
from notifier.engine.jinja import ExpressionRunner

Compiled = FactReader  # facts → the expression's value


class Unsupported(Exception):
    """A node the compiler leaves to Jinja."""


class Condition:
    """A rule's `where`, evaluated for one event: compiled when every node of it allows, else by Jinja."""

    __slots__ = ("compiled", "evaluate")

    def __init__(self, expression: Callable[..., Any], source: str | None) -> None:
        compiled = compile_expression(expression, source) if source is not None else None
        self.compiled = compiled is not None
        if compiled is None:
            runner = ExpressionRunner(expression)
            compiled = lambda facts: runner(facts.context, facts.scope)  # noqa: E731 - one-line adapter
        self.evaluate: Compiled = compiled

    def __call__(self, facts: EventFacts) -> Any:
        return self.evaluate(facts)


def compile_expression(expression: Callable[..., Any], source: str) -> Compiled | None:
    """`expression` (compiled by Jinja from `source`) as closures, or None when some node must stay Jinja's."""
    template = getattr(expression, "_template", None)
    if type(expression) is not TemplateExpression or not isinstance(template, Template):
        return None
    env = template.environment
    # Binary and unary operators are plain Python in the sandbox unless it intercepts them; this one must not.
    if env.is_async or env.intercepted_binops or env.intercepted_unops or env.autoescape is not False:  # type: ignore[attr-defined]
        return None
    try:  # parsed as `compile_expression` parses it: the same tree Jinja compiled
        parser = Parser(env, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            return None
        compiled = _compile(tree, env)
    except (Unsupported, TemplateSyntaxError):
        return None
    if not getattr(expression, "_undefined_to_none", False):
        return compiled
    return lambda facts: None if isinstance(value := compiled(facts), Undefined) else value


def _compile(node: nodes.Node, env: Environment) -> Compiled:
    build = _BUILDERS.get(type(node))
    if build is None:
        raise Unsupported(type(node).__name__)
    return build(node, env)


def _const(node: nodes.Const, env: Environment) -> Compiled:
    value = node.value
    return lambda _facts: value


def _sequence(node: nodes.List | nodes.Tuple, env: Environment) -> Compiled:
    if isinstance(node, nodes.Tuple) and node.ctx != "load":
        raise Unsupported("tuple target")
    parts = [_compile(item, env) for item in node.items]
    kind = list if isinstance(node, nodes.List) else tuple
    return lambda facts: kind([part(facts) for part in parts])


def _name(node: nodes.Name, env: Environment) -> Compiled:
    name = node.name
    if node.ctx != "load" or name not in ROOTS:
        raise Unsupported(f"name {name!r}")
    return lambda facts: facts.context[name]


def _getattr(node: nodes.Getattr, env: Environment) -> Compiled:
    attr, target = node.attr, node.node
    if isinstance(target, nodes.Name) and target.ctx == "load" and target.name in ROOTS:
        read = field_reader(target.name, attr, env.getattr)
        if read is not None:
            return read
    inner, get = _compile(target, env), env.getattr
    return lambda facts: get(inner(facts), attr)


def _getitem(node: nodes.Getitem, env: Environment) -> Compiled:
    if isinstance(node.arg, nodes.Slice):
        raise Unsupported("slice")  # Jinja slices outside the sandbox's getitem; rare enough to leave to it
    inner, key, get = _compile(node.node, env), _compile(node.arg, env), env.getitem
    return lambda facts: get(inner(facts), key(facts))


# Operand names as Jinja's parser gives them; `in` takes its operands in Python's order, `container, item`.
_COMPARISONS: Mapping[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda item, container: item in container,
    "notin": lambda item, container: item not in container,
}


def _compare(node: nodes.Compare, env: Environment) -> Compiled:
    """`a < b < c` as Python evaluates it (Jinja writes it as written): each operand once, stopping at the first
    comparison that is false, whose value is the result."""
    first = _compile(node.expr, env)
    steps = [(_comparison(op.op), _operand(op, env)) for op in node.ops]
    if len(steps) == 1:
        compare, right = steps[0]
        return lambda facts: compare(first(facts), right(facts))

    def chained(facts: Any) -> Any:
        left = first(facts)
        result: Any = True
        for compare, right in steps:
            value = right(facts)
            result = compare(left, value)
            if not result:
                return result
            left = value
        return result

    return chained


def _comparison(op: str) -> Callable[[Any, Any], Any]:
    compare = _COMPARISONS.get(op)
    if compare is None:
        raise Unsupported(f"operator {op!r}")
    return compare


def _operand(op: nodes.Operand, env: Environment) -> Compiled:
    """A constant list on the right of `in` is built once, as a tuple: membership is the same."""
    expr = op.expr
    constant = isinstance(expr, nodes.List | nodes.Tuple) and all(isinstance(i, nodes.Const) for i in expr.items)
    if op.op in ("in", "notin") and constant:
        members = tuple(item.value for item in expr.items)  # type: ignore[attr-defined]
        return lambda _facts: members
    return _compile(expr, env)


def _and(node: nodes.And, env: Environment) -> Compiled:
    left, right = _compile(node.left, env), _compile(node.right, env)
    return lambda facts: left(facts) and right(facts)


def _or(node: nodes.Or, env: Environment) -> Compiled:
    left, right = _compile(node.left, env), _compile(node.right, env)
    return lambda facts: left(facts) or right(facts)


def _unary(apply: Callable[[Any], Any]) -> Callable[[nodes.UnaryExpr, Environment], Compiled]:
    def build(node: nodes.UnaryExpr, env: Environment) -> Compiled:
        inner = _compile(node.node, env)
        return lambda facts: apply(inner(facts))

    return build


def _binary(apply: Callable[[Any, Any], Any]) -> Callable[[nodes.BinExpr, Environment], Compiled]:
    def build(node: nodes.BinExpr, env: Environment) -> Compiled:
        left, right = _compile(node.left, env), _compile(node.right, env)
        return lambda facts: apply(left(facts), right(facts))

    return build


def _concat(node: nodes.Concat, env: Environment) -> Compiled:
    parts = [_compile(part, env) for part in node.nodes]
    return lambda facts: str_join([part(facts) for part in parts])  # what Jinja writes without autoescape


def _cond(node: nodes.CondExpr, env: Environment) -> Compiled:
    if node.expr2 is None:
        raise Unsupported("if without else")  # Jinja's own undefined names the template position
    test, then, other = _compile(node.test, env), _compile(node.expr1, env), _compile(node.expr2, env)
    return lambda facts: then(facts) if test(facts) else other(facts)


def _call_of(kind: str) -> Callable[[nodes.Test | nodes.Filter, Environment], Compiled]:
    """A test or filter, called as Jinja's generated code calls it: the environment first when the function
    asks for it, then the value, the arguments and the keywords."""

    def build(node: nodes.Test | nodes.Filter, env: Environment) -> Compiled:
        found = (env.tests if kind == "test" else env.filters).get(node.name)
        if found is None or node.dyn_args is not None or node.dyn_kwargs is not None or node.node is None:
            raise Unsupported(f"{kind} {node.name!r}")
        func: Callable[..., Any] = found  # type: ignore[assignment]  # Jinja types its registries loosely
        passes = _PassArg.from_obj(func)
        if passes not in (None, _PassArg.environment):
            raise Unsupported(f"{kind} {node.name!r} needs a template context")
        value, args = _compile(node.node, env), [_compile(arg, env) for arg in node.args]
        kwargs = [(str(kw.key), _compile(kw.value, env)) for kw in node.kwargs]
        lead = (env,) if passes is _PassArg.environment else ()
        if not args and not kwargs:
            return lambda facts: func(*lead, value(facts))
        return lambda facts: func(
            *lead, value(facts), *[arg(facts) for arg in args], **{key: kw(facts) for key, kw in kwargs}
        )

    return build


_BUILDERS: Mapping[type[nodes.Node], Callable[[Any, Environment], Compiled]] = {
    nodes.Const: _const,
    nodes.List: _sequence,
    nodes.Tuple: _sequence,
    nodes.Name: _name,
    nodes.Getattr: _getattr,
    nodes.Getitem: _getitem,
    nodes.Compare: _compare,
    nodes.And: _and,
    nodes.Or: _or,
    nodes.Not: _unary(operator.not_),
    nodes.Neg: _unary(operator.neg),
    nodes.Pos: _unary(operator.pos),
    nodes.Add: _binary(operator.add),
    nodes.Sub: _binary(operator.sub),
    nodes.Mul: _binary(operator.mul),
    nodes.Div: _binary(operator.truediv),
    nodes.FloorDiv: _binary(operator.floordiv),
    nodes.Mod: _binary(operator.mod),
    nodes.Pow: _binary(operator.pow),
    nodes.Concat: _concat,
    nodes.CondExpr: _cond,
    nodes.Test: _call_of("test"),
    nodes.Filter: _call_of("filter"),
}
