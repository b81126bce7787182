"""Binary trees for recursive networks: their shape in post-order, parsed from brackets or balanced.

A tree's nodes are numbered in post-order (children before their parent, the root last), which is
the order a recursive network computes them going forward; back-propagation through structure
visits them in the reverse order (every parent before its children). Leaves read the words of the
sequence left to right.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@dataclass(frozen=True)
class Tree:
    """A full binary tree in post-order: `children[k]` is (left, right) for an internal node and
    None for a leaf; `words` labels the leaves left to right (optional)."""

    children: tuple[tuple[int, int] | None, ...]
    words: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.children)
        if n < 1:
            raise ValueError("a tree needs at least one node")
        seen: set[int] = set()
        for k, kids in enumerate(self.children):
            if kids is None:
                continue
            if len(kids) != 2 or not all(isinstance(c, int) and 0 <= c < k for c in kids) or kids[0] == kids[1]:
                raise ValueError(f"node {k}: children must be two distinct earlier nodes (post-order); got {kids}")
            if seen & set(kids):
                raise ValueError(f"node {k}: a child already has a parent")
            seen.update(kids)
        if seen != set(range(n - 1)):
            raise ValueError("every node but the last (the root) must have exactly one parent")
        if self.words is not None and len(self.words) != len(self.leaves):
            raise ValueError(f"{len(self.words)} words for {len(self.leaves)} leaves")

    @property
    def size(self) -> int:
        """Number of nodes N (leaves and internal)."""
        return len(self.children)

    @property
    def root(self) -> int:
        """The root's index (the last in post-order)."""
        return self.size - 1

    @cached_property
    def leaves(self) -> tuple[int, ...]:
        """Leaf node indices, left to right (the order of the words)."""
        return tuple(k for k, kids in enumerate(self.children) if kids is None)

    @cached_property
    def leaf_position(self) -> dict[int, int]:
        """Leaf node → the position of its word in the sequence."""
        return {node: i for i, node in enumerate(self.leaves)}

    @cached_property
    def internal(self) -> tuple[int, ...]:
        """Internal node indices in post-order."""
        return tuple(k for k, kids in enumerate(self.children) if kids is not None)

    @cached_property
    def parent(self) -> tuple[int | None, ...]:
        """Each node's parent (None at the root)."""
        out: list[int | None] = [None] * self.size
        for k, kids in enumerate(self.children):
            for c in kids or ():
                out[c] = k
        return tuple(out)

    @cached_property
    def side(self) -> tuple[str | None, ...]:
        """"left" or "right": which child of its parent a node is (None at the root)."""
        out: list[str | None] = [None] * self.size
        for kids in self.children:
            if kids is not None:
                out[kids[0]], out[kids[1]] = "left", "right"
        return tuple(out)

    @cached_property
    def depth(self) -> tuple[int, ...]:
        """Edges from the root (the root is at depth 0)."""
        out = [0] * self.size
        for k in reversed(range(self.size)):
            for c in self.children[k] or ():
                out[c] = out[k] + 1
        return tuple(out)

    @property
    def height(self) -> int:
        """The largest depth: how many child→parent Jacobians the deepest leaf's gradient crosses."""
        return max(self.depth)

    def bracket(self) -> str:
        """The tree as brackets, e.g. "(I (like cake))" (leaves named by their word or position)."""
        def text(k: int) -> str:
            kids = self.children[k]
            if kids is None:
                i = self.leaf_position[k]
                return self.words[i] if self.words is not None else str(i)
            return f"({text(kids[0])} {text(kids[1])})"
        return text(self.root)

    def as_dict(self) -> dict:
        """JSON-ready shape: children, parent, depth, leaves, words (the page draws the tree from it)."""
        return {"children": [list(c) if c is not None else None for c in self.children],
                "parent": list(self.parent), "side": list(self.side), "depth": list(self.depth),
                "leaves": list(self.leaves), "words": list(self.words) if self.words is not None else None,
                "height": self.height, "bracket": self.bracket()}


def parse_tree(text: str) -> Tree:
    """A full binary tree from brackets: "(I (like cake))"; every bracket holds exactly two parts.
    ValueError naming the problem."""
    tokens = _TOKEN.findall(text)
    children: list[tuple[int, int] | None] = []
    words: list[str] = []
    pos = 0

    def node() -> int:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"unexpected end of tree {text!r}")
        tok = tokens[pos]
        pos += 1
        if tok == ")":
            raise ValueError(f"unexpected ')' in tree {text!r}")
        if tok != "(":
            words.append(tok)
            children.append(None)
            return len(children) - 1
        left, right = node(), node()
        if pos >= len(tokens) or tokens[pos] != ")":
            raise ValueError(f"every bracket must hold exactly two parts in tree {text!r}")
        pos += 1
        children.append((left, right))
        return len(children) - 1

    node()
    if pos != len(tokens):
        raise ValueError(f"trailing text after the root in tree {text!r}")
    return Tree(tuple(children), tuple(words))


def balanced_tree(n: int, words: tuple[str, ...] | None = None) -> Tree:
    """The balanced binary tree over n leaves (the left half takes the extra leaf): height ⌈log₂ n⌉."""
    if n < 1:
        raise ValueError(f"a tree needs at least one leaf; got n={n}")
    children: list[tuple[int, int] | None] = []

    def build(lo: int, hi: int) -> int:
        if hi - lo == 1:
            children.append(None)
        else:
            mid = lo + (hi - lo + 1) // 2
            left = build(lo, mid)
            right = build(mid, hi)
            children.append((left, right))
        return len(children) - 1

    build(0, n)
    return Tree(tuple(children), words)


# Parse trees (binarised) of the tagging corpus's sentences (engine.tasks.TAGGED_CORPUS, same order).
SENTENCE_TREES = (
    "(I (like cake))",
    "(you (like tea))",
    "((the cat) sleeps)",
    "((a dog) (runs fast))",
    "(she (eats (red apples)))",
    "(we (like (the (old book))))",
    "((the (big dog)) (likes cake))",
    "(he ((reads (a book)) (in (the garden))))",
    "(they (run (to (the park))))",
    "(I ((eat cake) (with tea)))",
    "((the (small cat)) (sleeps (on (the bed))))",
    "(you (read slowly))",
    "((a (red apple)) (is sweet))",
    "(she (likes (the garden)))",
    "(we (eat (apples (and cake))))",
    "((the (old man)) (walks slowly))",
    "(he (likes (tea (and cake))))",
    "(they (sleep (in (the park))))",
)
