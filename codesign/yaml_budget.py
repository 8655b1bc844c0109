"""`yaml.safe_load` with a node budget and a duplicate-key check: a YAML alias bomb ("billion laughs") is
refused before anything walks or prints the expanded structure, and a key given twice in one mapping
(which `safe_load` silently resolves to the last value) is refused naming both lines.

safe_load itself shares aliased nodes, so the bomb loads quickly; it is everything after (validation
that walks the tree, an error message that prints a value) that never ends. The expanded size is
counted on the composed node graph, memoised per node, so the count costs one pass over the distinct
nodes however large the expansion.
"""

from __future__ import annotations

from typing import Any

import yaml

from codesign.errors import CodesignError, InputError

#: Largest expanded node count accepted (a hardware file has about 100 nodes, a design file about 30).
MAX_NODES = 100_000


def expanded_size(root: yaml.Node, limit: int = MAX_NODES) -> int:
    """Number of nodes `root` stands for with every alias expanded (stops counting past `limit`)."""
    memo: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in memo and not done:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            if key in on_path:  # a recursive structure: infinite when expanded
                return limit + 1
            on_path.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in memo)
            continue
        on_path.discard(key)
        memo[key] = min(limit + 1, 1 + sum(memo.get(id(c), 1) for c in children))
    return memo.get(id(root), 1)


def first_duplicate_key(root: yaml.Node) -> tuple[str, int, int] | None:
    """(key, line, line of its first occurrence) of the first key given twice in one mapping, else None.

    `safe_load` keeps the last of two equal keys; in an input file that hides a mistake. Merge keys
    (`<<`) are not counted. Lines are 1-based.
    """
    stack, visited = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    line = key_node.start_mark.line + 1
                    if key_node.value in first_line:
                        return str(key_node.value), line, first_line[key_node.value]
                    first_line[key_node.value] = line
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def safe_load_bounded(
    text: str, where: str, error: type[CodesignError] = InputError, max_nodes: int = MAX_NODES
) -> Any:
    """`yaml.safe_load(text)`, refusing more than `max_nodes` expanded nodes; every failure is one line.

    Raises `error` (default InputError, exit 4) naming `where` and the line/column of a syntax error.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and expanded_size(node, max_nodes) > max_nodes:
            raise error(
                f"{where}: YAML expands to more than {max_nodes:,} nodes (aliases repeated inside aliases); "
                "write the values out instead of nesting aliases"
            )
        if node is not None:
            duplicate = first_duplicate_key(node)
            if duplicate is not None:
                key, line, first = duplicate
                raise error(
                    f"{where}:{line}: duplicate key {key!r} (first given on line {first}; each key may appear once)"
                )
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())[:200]
        raise error(f"{where}{location}: invalid YAML: {problem}; fix the file") from None
    except yaml.YAMLError as exc:
        raise error(f"{where}: invalid YAML: {' '.join(str(exc).split())[:200]}; fix the file") from None
    except RecursionError:
        raise error(f"{where}: YAML nested too deeply; fix the file") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. `date: 2018-02-30`
        raise error(
            f"{where}: invalid YAML value: {' '.join(str(exc).split())[:200]}; fix the file"
        ) from None
