"""trafilatura's pruning expressions, the same selections made by Python.

trafilatura finds a page's main text container, and prunes its boilerplate (menus, share
bars, comments, hidden blocks, teasers), with lists of XPath expressions that test
attributes, many with EXSLT regular expressions (``re:test``): libxml2 calls back into
Python for every test of every candidate element, a third of the extraction's time on the
real pages. ``install`` puts in their place, in trafilatura's own lists, functions that
select the same elements in the same (document) order. Each is compiled from the
expression's own text (``compile_path``), for the small part of XPath these lists are
written in:

    .//NAME-or-*  [TEST or TEST ...] [...] [1]?   or (that)[1]: the first of them all
    TEST: self::NAME | @A | @A='v' | not(TEST or ...) | not(.//NAME)
          | re:test(S, 'regex'[, 'flags']) | contains(S, 'v') | starts-with(S, 'v')
    S:    @A|@B...  |  translate(@A|@B..., 'from', 'to')

with XPath's own string values: an absent attribute reads as ``""``, a union such as
``@id|@class`` as the first of them in the element's attribute order (XPath's string value
of a node-set, and lxml's ``re:test``, take its first node in document order). An expression
outside that part is left to lxml as it is. Each test is made into a Python expression and
each function into Python source: a page's element is tested in one line of Python, without
a call per test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

LISTS = (  # trafilatura.xpaths' lists: the main text's container, and the pruning lists
    "BODY_XPATH", "OVERALL_DISCARD_XPATH", "PRECISION_DISCARD_XPATH", "RAW_TREE_PRUNE_XPATH",
    "REMOVE_COMMENTS_XPATH", "REMOVE_COMMENTS_AND_LISTS_XPATH", "TEASER_DISCARD_XPATH",
    "DISCARD_IMAGE_ELEMENTS",
)  # fmt: skip

_TOKEN = re.compile(
    r"\s*(?:('[^']*')|(\.//)|(::)|([\[\]()|,=@*])|([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)|(\d+))"
)


class Unsupported(ValueError):
    """An expression outside the part of XPath this module reads."""


def _tokens(path: str) -> list[str]:
    found, at, path = [], 0, path.strip()
    while at < len(path):
        match = _TOKEN.match(path, at)
        if match is None or match.end() == at:
            raise Unsupported(path[at : at + 20])
        found.append(match.group().strip())
        at = match.end()
    return found


class _Parser:
    """Reads an expression into Python source: each test becomes an expression of the element
    ``e`` (``get`` is its ``get``), with its constants (compiled regular expressions,
    translate tables) in ``self.constants``."""

    def __init__(self, path: str) -> None:
        self.tokens, self.at = _tokens(path), 0
        self.constants: dict[str, Any] = {"_first": _first}
        self.first_child = False  # the last path read ended in [1]

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unsupported(f"{expected or 'more'} expected, not {token}")
        self.at += 1
        return token

    def literal(self) -> str:
        token = self.take()
        if not token.startswith("'"):
            raise Unsupported(token)
        return token[1:-1]

    def name(self) -> str:
        token = self.take()
        if not re.fullmatch(r"[A-Za-z_][\w.-]*", token):
            raise Unsupported(token)
        return token

    def path(self) -> tuple[str | None, list[tuple[str, bool, list[str] | None]]]:
        """``.//NAME[...]...``: the tag (None for ``*``) and its tests, each as (source,
        whether it needs an attribute, the tags when it is only ``self::`` tests)."""
        self.take(".//")
        tag = None if self.peek() == "*" else self.name()
        if tag is None:
            self.take("*")
        tests = []
        self.first_child = False  # a last [1]: the first such child of its parent
        while self.peek() == "[" and not self.first_child:
            self.take("[")
            if self.peek() == "1":
                self.take("1")
                self.first_child = True
            else:
                tests.append(self.disjunction())
            self.take("]")
        return tag, tests

    def disjunction(self) -> tuple[str, bool, list[str] | None]:
        terms = [self.term()]
        while self.peek() == "or":
            self.take("or")
            terms.append(self.term())
        tags = [t for _, _, t in terms]
        only_tags = [x for t in tags for x in t] if all(tags) else None  # type: ignore[union-attr]
        source = " or ".join(f"({code})" for code, _, _ in terms)
        return source, all(needs for _, needs, _ in terms), only_tags

    def attributes(self) -> list[str]:
        names = []
        while True:
            self.take("@")
            names.append(self.name())
            if self.peek() != "|":
                return names
            self.take("|")

    def string(self) -> str:
        """A string argument (a union of attributes, or translate() of one) as source."""
        if self.peek() != "translate":
            return _string_source(self.attributes())
        self.take("translate")
        self.take("(")
        inner = _string_source(self.attributes())
        self.take(",")
        source = self.literal()
        self.take(",")
        target = self.literal()
        self.take(")")
        if len(source) == len(target) == 1:
            return f"{inner}.replace({source!r}, {target!r})"
        return f"{inner}.translate({self.constant(_translation(source, target))})"

    def term(self) -> tuple[str, bool, list[str] | None]:
        token = self.peek()
        if token == "self":
            self.take()
            self.take("::")
            tag = self.name()
            return f"e.tag == {tag!r}", False, [tag]
        if token == "@":
            names = self.attributes()
            if self.peek() != "=":
                return " or ".join(f"get({n!r}) is not None" for n in names), True, None
            self.take("=")
            value = self.literal()
            if len(names) != 1:
                raise Unsupported("a union compared to a value")
            return f"get({names[0]!r}) == {value!r}", True, None
        if token == "not":
            self.take()
            self.take("(")
            if self.peek() == ".//":
                tag, tests = self.path()
                if tag is None or tests or self.first_child:
                    raise Unsupported("not() of a path with tests")
                code = f"next(e.iterdescendants({tag!r}), None) is None"
            else:
                code = f"not ({self.disjunction()[0]})"
            self.take(")")
            return code, False, None
        function = self.take()
        self.take("(")
        string = self.string()
        self.take(",")
        value = self.literal()
        flags = ""
        if function == "re:test" and self.peek() == ",":
            self.take(",")
            flags = self.literal()  # lxml's test() reads only "i" of them
        self.take(")")
        if function == "re:test" and not flags and re.fullmatch(r"[\w -]+", value):
            return f"{value!r} in {string}", True, None  # no regex but letters
        if function == "re:test":  # as lxml: re.compile(value, re.UNICODE [| IGNORECASE])
            regex = re.compile(value, re.IGNORECASE if "i" in flags else 0)
            search = self.constant(regex.search)
            return f"{search}({string}) is not None", regex.search("") is None, None
        if function == "contains":
            return f"{value!r} in {string}", value != "", None
        if function == "starts-with":
            return f"{string}.startswith({value!r})", value != "", None
        raise Unsupported(function)


def _string_source(names: list[str]) -> str:
    if len(names) == 1:
        return f"(get({names[0]!r}) or '')"
    return f"_first(e, {tuple(names)!r})"


def _first(element: Any, names: tuple[str, ...]) -> str:
    """The string of a union of attributes: the first in the element's attribute order."""
    for key in element.attrib:
        if key in names:
            return element.get(key)
    return ""


def _translation(source: str, target: str) -> dict[int, int | None]:
    """XPath's translate(): each character of ``source`` (its first place counts) becomes the
    character at the same place in ``target``, or goes when ``target`` is shorter."""
    table: dict[int, int | None] = {}
    for i, char in enumerate(source):
        table.setdefault(ord(char), ord(target[i]) if i < len(target) else None)
    return table


_FUNCTION = """def select(tree):
    found = []
    for e in tree.iterdescendants(*_tags):
        {skip}get = e.get
        if {test}{first_child}:
            {found}
    return found
"""
_FIRST_CHILD = " and not any(_ok(s) for s in e.itersiblings(*_tags, preceding=True))"
_OK = """

def _ok(e):
    get = e.get
    return {test}
"""  # the test alone, of a preceding sibling


def compile_path(path: str) -> Callable[[Any], list[Any]]:
    """A function of a tree giving what XPath ``path`` gives, or Unsupported."""
    from lxml import etree

    parser = _Parser(path)
    first = parser.peek() == "("  # (.//...)[1]: the first of them in document order
    if first:
        parser.take("(")
    tag, tests = parser.path()
    if first:
        for token in (")", "[", "1", "]"):
            parser.take(token)
    if parser.peek() is not None:
        raise Unsupported(f"after the path: {parser.peek()}")
    tags: list[Any] = [etree.Element] if tag is None else [tag]  # ``*``: elements, as XPath
    if tag is None and tests and tests[0][2]:  # [self::a or self::b]: lxml picks the tags
        tags, tests = tests[0][2], tests[1:]
    skip = "if not e.attrib:\n            continue\n        " if any(t[1] for t in tests) else ""
    test = " and ".join(f"({code})" for code, _, _ in tests) or "True"
    namespace = {**parser.constants, "_tags": tuple(tags)}
    found = "return [e]" if first else "found.append(e)"
    first_child = _FIRST_CHILD if parser.first_child else ""
    source = _FUNCTION.format(skip=skip, test=test, found=found, first_child=first_child)
    if parser.first_child:
        source += _OK.format(test=test)
    exec(source, namespace)
    select = namespace["select"]
    select.path = path  # what it stands for
    return select


def replacement(expression: Any) -> Callable[[Any], list[Any]] | None:
    """The function for one of trafilatura's expressions, or None if it is not readable. It
    reads an element's descendants; given anything else (a whole document), the expression
    itself answers."""
    from lxml import etree

    try:
        fast = compile_path(expression.path)
    except (Unsupported, AttributeError, re.error):
        return None

    def select(tree: Any) -> list[Any]:
        return fast(tree) if isinstance(tree, etree._Element) else expression(tree)

    select.path = expression.path  # type: ignore[attr-defined]
    return select


ORIGINAL: dict[str, list[Any]] = {}  # trafilatura's lists as they were, by name


def install() -> list[str]:
    """Replace the expressions of trafilatura's pruning lists (once a process); the names of
    the lists replaced."""
    from trafilatura import xpaths

    if not _TRIED:
        _TRIED.append(True)
        for name in LISTS:
            found = getattr(xpaths, name, None)
            if not isinstance(found, list):
                continue
            made = [replacement(e) for e in found]
            if any(made):
                ORIGINAL[name] = list(found)
                # in the very list trafilatura's modules hold; what is not read stays lxml's
                found[:] = [m or e for m, e in zip(made, found, strict=True)]
    return list(ORIGINAL)


_TRIED: list[bool] = []
