"""Identity guards inside one connected component (SPEC §4), as plain functions.

Connected components alone over-merge: one shared identifier (a team inbox, an
office switchboard) joins everyone who used it. Two guards split a component
into the customers it really holds, deterministically:

1. **Shared identifiers.** A cut vertex whose removal leaves two or more parts
   that each hold an identifier of a type a person has only once (``user_id``,
   ``lead_id``, ``contact_id`` by default) or of its own type (an e-mail that is
   the only link between two other e-mails) links different people: it is
   refused. The own-type test applies to types that get shared in practice (team
   inboxes, switchboards, shared requester accounts), not to devices. Greedily,
   the most shared first: most conflicting parts, then the most balanced split
   (a person's own e-mail cuts off a small piece, a shared inbox splits people),
   then the lowest degree.
2. **Per-type limits and the size cap.** The remaining edges are merged in the
   order of their earliest evidence (first received); an edge that would give a
   customer more identifiers of a type than its limit, or more identifiers than
   ``max_component_size``, is refused.

Refusals are returned with the rule that refused them, for ``identity_conflicts``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

SHARED = "shared_identifier"
SIZE = "max_component_size"
SUPER_NODE = "super_node"


def limit_rule(id_type: str) -> str:
    return f"limit:{id_type}"


@dataclass(frozen=True)
class GuardRules:
    """What the guards enforce (from ``identity`` in journeyline.yml)."""

    limits: dict[str, int]
    max_component_size: int
    person_types: frozenset[str]
    shareable_types: frozenset[str] = frozenset({"email", "phone", "ticket_requester_id"})
    shared_guard: bool = True


@dataclass
class Resolution:
    """How one component splits: a group number per node, and what was refused."""

    groups: list[int]
    refused_nodes: dict[int, str] = field(default_factory=dict)
    refused_edges: list[tuple[int, int, str]] = field(default_factory=list)


def _pieces(n: int, adj: list[list[int]], alive: list[bool]) -> list[list[int]]:
    """Connected pieces of the alive nodes."""
    seen = [False] * n
    pieces = []
    for start in range(n):
        if seen[start] or not alive[start]:
            continue
        seen[start] = True
        stack, piece = [start], []
        while stack:
            v = stack.pop()
            piece.append(v)
            for w in adj[v]:
                if alive[w] and not seen[w]:
                    seen[w] = True
                    stack.append(w)
        pieces.append(piece)
    return pieces


def _most_shared(
    piece: list[int],
    adj: list[list[int]],
    alive: list[bool],
    types: Sequence[str],
    keys: Sequence[int],
    rules: GuardRules,
) -> int | None:
    """The cut vertex of ``piece`` that most clearly links different people, or None.

    One iterative DFS (Tarjan) gives every cut vertex and the subtrees it separates;
    type counts per subtree come from prefix sums over the DFS order.
    """
    watched = rules.person_types
    kinds = sorted(watched | {types[v] for v in piece})
    kind_index = {k: i for i, k in enumerate(kinds)}
    root = piece[0]
    disc: dict[int, int] = {root: 0}
    low: dict[int, int] = {root: 0}
    order = [root]
    size: dict[int, int] = {}
    children: dict[int, list[int]] = {v: [] for v in piece}
    stack = [(root, -1, iter(adj[root]))]
    while stack:
        v, parent, it = stack[-1]
        advanced = False
        for w in it:
            if not alive[w] or w == parent:
                continue
            if w in disc:
                low[v] = min(low[v], disc[w])
            else:
                disc[w] = low[w] = len(order)
                order.append(w)
                children[v].append(w)
                stack.append((w, v, iter(adj[w])))
                advanced = True
                break
        if not advanced:
            stack.pop()
            size[v] = 1 + sum(size[c] for c in children[v])
            if stack:
                p = stack[-1][0]
                low[p] = min(low[p], low[v])
    prefix = [[0] * len(kinds)]
    for v in order:
        row = prefix[-1][:]
        row[kind_index[types[v]]] += 1
        prefix.append(row)
    total = prefix[-1]

    def counts(start: int, length: int) -> list[int]:
        return [b - a for a, b in zip(prefix[start], prefix[start + length], strict=True)]

    best: tuple | None = None
    best_node = None
    for v in piece:
        parts = [
            (size[c], counts(disc[c], size[c]))
            for c in children[v]
            if v == root or low[c] >= disc[v]
        ]
        if (v == root and len(parts) < 2) or not parts:
            continue
        if v != root:
            cut = sum(s for s, _ in parts)
            rest = [t - sum(c[i] for _, c in parts) for i, t in enumerate(total)]
            rest[kind_index[types[v]]] -= 1
            parts.append((len(piece) - 1 - cut, rest))
        own = {types[v]} if types[v] in rules.shareable_types else set()
        for kind in watched | own:
            i = kind_index[kind]
            holders = sorted((s for s, c in parts if c[i] > 0), reverse=True)
            if len(holders) >= 2:
                key = (len(holders), holders[1], -sum(1 for w in adj[v] if alive[w]), -keys[v])
                if best is None or key > best:
                    best, best_node = key, v
    return best_node


def refuse_shared(
    n: int, adj: list[list[int]], types: Sequence[str], keys: Sequence[int], rules: GuardRules
) -> dict[int, str]:
    """Guard 1: refuse shared identifiers until no cut vertex links different people."""
    alive = [True] * n
    refused: dict[int, str] = {}
    todo = [p for p in _pieces(n, adj, alive) if len(p) >= 3]
    while todo:
        piece = todo.pop()
        v = _most_shared(piece, adj, alive, types, keys, rules)
        if v is None:
            continue
        alive[v] = False
        refused[v] = SHARED
        members = set(piece)
        sub_alive = [alive[i] and i in members for i in range(n)]
        todo.extend(p for p in _pieces(n, adj, sub_alive) if len(p) >= 3)
    return refused


def limited_union(
    n: int,
    edges: Sequence[tuple[int, int]],
    types: Sequence[str],
    rules: GuardRules,
    skip: dict[int, str],
) -> tuple[list[int], list[tuple[int, int, str]]]:
    """Guard 2: merge ``edges`` in order unless a merge breaks a limit; refused edges listed."""
    parent = list(range(n))
    count: list[Counter[str]] = [Counter({types[i]: 1}) for i in range(n)]
    size = [1] * n

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused: list[tuple[int, int, str]] = []
    for a, b in edges:
        if a in skip or b in skip:
            continue
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        rule = None
        if size[ra] + size[rb] > rules.max_component_size:
            rule = SIZE
        else:
            for id_type, limit in rules.limits.items():
                if count[ra][id_type] + count[rb][id_type] > limit:
                    rule = limit_rule(id_type)
                    break
        if rule is not None:
            refused.append((a, b, rule))
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        count[ra].update(count[rb])
    return [find(i) for i in range(n)], refused


def resolve_component(
    types: Sequence[str], keys: Sequence[int], edges: Sequence[tuple[int, int]], rules: GuardRules
) -> Resolution:
    """Split one component (nodes 0..n-1, edges in evidence order) into customers.

    ``keys`` are stable node ids used only to break ties deterministically. A refused
    shared identifier becomes a group of its own.
    """
    n = len(types)
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    refused = refuse_shared(n, adj, types, keys, rules) if rules.shared_guard else {}
    groups, refused_edges = limited_union(n, edges, types, rules, refused)
    return Resolution(groups=groups, refused_nodes=refused, refused_edges=refused_edges)


def needs_guarding(type_counts: Counter[str], size: int, rules: GuardRules) -> bool:
    """Whether a component could break a guard at all (most components cannot)."""
    if size > rules.max_component_size:
        return True
    if any(type_counts[t] > limit for t, limit in rules.limits.items()):
        return True
    if not rules.shared_guard or size < 3:
        return False
    return any(type_counts[t] >= 2 for t in rules.person_types) or any(
        type_counts[t] >= 3 for t in rules.shareable_types
    )
