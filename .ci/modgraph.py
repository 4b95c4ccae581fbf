#!/usr/bin/env python3
"""Module import graph and import cycles of one Rust crate, from its source alone.

usage: modgraph.py [--tests] [--check] SRC_DIR_OR_ROOT_FILE

Starts at lib.rs (or main.rs), follows `mod x;` declarations (x.rs, x/mod.rs, #[path]),
and for every module *file* lists the other crate modules it imports:
  * `use crate::…`, `use super::…`, `use self::…`, `use child::…` (use trees expanded),
  * paths in code: `crate::x::…`, `super::…`, `self::…`, `child_module::…`,
  * a path through a re-export (`pub use`/`use` in the named module, globs included)
    is followed to the module that defines the item, as the compiler resolves it.
Inline modules (`mod tests { … }`, `pub mod markers { … }`) count as part of their file.
Code under `#[cfg(test)] mod …` is test code: its edges are shown tagged [test] and are
left out of the cycle search unless --tests is given. Other cfgs (features) all count.
Comments, doc links and string literals are ignored.

Prints each module's imports, then every import cycle (strongly connected component of
more than one module), with one edge location for each edge inside it.
--check: exit 1 when there is a cycle (0 when none).
"""
import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# ---------------------------------------------------------------- lexing
def clean(text):
    """Blank out comments and the insides of string/char literals, keeping offsets."""
    out = list(text)
    n = len(text)
    i = 0

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == "/" and text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in "rbc" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'(?:br|cr|r)(#*)"', text[i:])
            if m:
                close = '"' + m.group(1)
                j = text.find(close, i + m.end())
                j = n if j < 0 else j + len(close)
                blank(i + 1, j)
                i = j
            elif text.startswith(('b"', 'c"'), i):
                i += 1
            elif text.startswith("b'", i):
                i += 1
            else:
                i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "'":
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 2)
                if text[i + 2 : i + 3] == "'":  # '\''
                    j = i + 3
                j = n if j < 0 else j
                blank(i + 1, j)
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'":
                blank(i + 1, i + 2)
                i += 3
            else:  # lifetime or label
                i += 1
        else:
            i += 1
    return "".join(out)


def match_brace(s, i):
    """s[i] == '{'; return the index after its matching '}'."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


# ---------------------------------------------------------------- use trees
def tokens(s):
    return re.findall(r"::|[{},*]|" + IDENT, s)


def expand_use(tree):
    """'crate::a::{self, b::C as D, e::*}' -> [(segs, alias_or_None, is_glob)]."""
    toks = tokens(tree)
    pos = 0
    out = []

    def parse(prefix):
        nonlocal pos
        segs = list(prefix)
        while pos < len(toks):
            t = toks[pos]
            if t == "{":
                pos += 1
                while pos < len(toks) and toks[pos] != "}":
                    parse(segs)
                    if pos < len(toks) and toks[pos] == ",":
                        pos += 1
                pos += 1
                return
            if t == "*":
                pos += 1
                out.append((segs, None, True))
                return
            if t == "::":
                pos += 1
                continue
            if t in (",", "}"):
                break
            pos += 1
            if not (t == "self" and segs):  # `a::{self}` means `a` itself
                segs = segs + [t]
            if pos < len(toks) and toks[pos] == "as":
                alias = toks[pos + 1] if pos + 1 < len(toks) else None
                pos += 2
                out.append((segs, alias, False))
                return
            if pos >= len(toks) or toks[pos] in (",", "}"):
                out.append((segs, None, False))
                return
        if segs != list(prefix):
            out.append((segs, None, False))

    parse([])
    return out


# ---------------------------------------------------------------- crate model
class Module:
    def __init__(self, path, file, node, test):
        self.path = path  # tuple of segments, () for the root
        self.file = file
        self.node = node  # the file-level module it belongs to (tuple)
        self.test = test
        self.children = set()
        self.names = {}  # name -> (segs, ctx path) from `use`
        self.globs = []  # (segs, ctx path)
        self.items = set()  # names defined here


ITEM_RE = re.compile(
    r"\b(?:fn|struct|enum|union|trait|type|const|static|macro_rules!)\s+(" + IDENT + ")"
)
MOD_RE = re.compile(
    r"((?:#\s*\[[^\]]*\]\s*)*)(?:pub\s*(?:\([^)]*\))?\s*)?mod\s+(" + IDENT + r")\s*([{;])"
)
USE_RE = re.compile(r"((?:#\s*\[[^\]]*\]\s*)*)(?:\bpub\s*(?:\([^)]*\))?\s*)?\buse\s+([^;]+);")
PATH_RE = re.compile(r"(?<![\w:$])((?:" + IDENT + r")(?:\s*::\s*" + IDENT + r")+)")
CFG_TEST = re.compile(r"cfg\s*\((?:[^()]|\([^()]*\))*\btest\b")


class Crate:
    def __init__(self, root_file):
        self.mods = {}
        self.uses = []  # (ctx path, segs, line, file, test, is_use)
        self.load(root_file, (), os.path.dirname(root_file), False)

    def load(self, file, path, moddir, test):
        raw = open(file, encoding="utf-8").read()
        text = clean(raw)
        text = re.sub(r"pub\s*\(\s*in\s+[^)]*\)", lambda m: " " * len(m.group(0)), text)
        self.mods[path] = Module(path, file, path, test)
        # inline module regions: (start, end, path, test)
        regions = []

        def region_of(pos):
            best = (path, test)
            for a, b, p, t in regions:
                if a <= pos < b:
                    best = (p, t)  # regions are appended outer first
            return best

        for m in MOD_RE.finditer(text):
            name, kind = m.group(2), m.group(3)
            parent, ptest = region_of(m.start(2))
            attrs = raw[m.start(1) : m.end(1)]
            t = ptest or bool(CFG_TEST.search(attrs))
            child = parent + (name,)
            self.mods[parent].children.add(name)
            if kind == "{":
                end = match_brace(text, m.end(3) - 1)
                regions.append((m.end(3) - 1, end, child, t))
                self.mods[child] = Module(child, file, path, t)
            else:
                sub = os.path.join(moddir, *parent[len(path) :])
                pm = re.search(r'path\s*=\s*"([^"]*)"', attrs)
                if pm:
                    f = os.path.join(os.path.dirname(file) if not parent[len(path):] else sub, pm.group(1))
                    cdir = os.path.dirname(f)
                else:
                    f = os.path.join(sub, name + ".rs")
                    cdir = os.path.join(sub, name)
                    if not os.path.exists(f):
                        f = os.path.join(sub, name, "mod.rs")
                if os.path.exists(f):
                    self.load(f, child, cdir, t)
                else:
                    print(f"warning: {file}: no file for `mod {name};`", file=sys.stderr)

        for m in ITEM_RE.finditer(text):
            self.mods[region_of(m.start())[0]].items.add(m.group(1))

        def line(pos):
            return text.count("\n", 0, pos) + 1

        use_spans = []
        for m in USE_RE.finditer(text):
            ctx, t = region_of(m.start(2))
            t = t or bool(CFG_TEST.search(raw[m.start(1) : m.end(1)]))
            use_spans.append((m.start(), m.end()))
            for segs, alias, glob in expand_use(m.group(2)):
                if not segs:
                    continue
                if glob:
                    self.mods[ctx].globs.append((segs, ctx))
                else:
                    self.mods[ctx].names[alias or segs[-1]] = (segs, ctx)
                self.uses.append((ctx, segs, line(m.start(2)), file, t, True))
        for m in PATH_RE.finditer(text):
            if any(a <= m.start() < b for a, b in use_spans):
                continue
            segs = [s.strip() for s in m.group(1).split("::")]
            ctx, t = region_of(m.start())
            self.uses.append((ctx, segs, line(m.start()), file, t, False))

    # resolve a path to the file-level module that defines what it names; None if outside
    def resolve(self, segs, ctx, depth=0):
        if depth > 20 or not segs:
            return None
        first, rest = segs[0], list(segs[1:])
        if first == "crate":
            base = ()
        elif first in ("self", "super"):
            base = ctx
            rest = list(segs)
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    base = base[:-1]
                rest.pop(0)
        elif first in self.mods[ctx].children:
            base = ctx + (first,)
        elif first in self.mods[ctx].names and self.mods[ctx].names[first][0] != segs[:1]:
            isegs, ictx = self.mods[ctx].names[first]
            return self.resolve(list(isegs) + rest, ictx, depth + 1)
        else:
            return None  # an extern crate, std, or a local item
        while rest and base + (rest[0],) in self.mods:
            base = base + (rest[0],)
            rest.pop(0)
        if rest:
            mod = self.mods[base]
            name = rest[0]
            if name not in mod.items:
                if name in mod.names:
                    isegs, ictx = mod.names[name]
                    r = self.resolve(list(isegs) + rest[1:], ictx, depth + 1)
                    if r is not None:
                        return r
                for gsegs, gctx in mod.globs:
                    r = self.resolve(list(gsegs) + rest, gctx, depth + 1)
                    if r is not None and (name in self.mods[r].items or name in self.mods[r].names):
                        return r
        return self.mods[base].node

    def graph(self):
        edges = {}  # (src, dst) -> {"test": bool, "where": str}
        for ctx, segs, line, file, test, is_use in self.uses:
            dst = self.resolve(segs, ctx)
            src = self.mods[ctx].node
            if dst is None or dst == src:
                continue
            e = edges.get((src, dst))
            loc = f"{file}:{line}  {'use ' if is_use else ''}{'::'.join(segs)}"
            if e is None:
                edges[(src, dst)] = {"test": test, "where": loc}
            elif e["test"] and not test:
                edges[(src, dst)] = {"test": False, "where": loc}
        return edges


def name(p):
    return "::".join(p) if p else "crate"


def sccs(nodes, adj):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adj[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def shortest_cycle(start, comp, adj):
    comp = set(comp)
    prev, frontier, seen = {}, [start], {start}
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(adj[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w in comp and w not in seen:
                    seen.add(w)
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    with_tests = "--tests" in argv
    check = "--check" in argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = args[0]
    if os.path.isdir(root):
        for cand in ("lib.rs", "main.rs"):
            if os.path.exists(os.path.join(root, cand)):
                root = os.path.join(root, cand)
                break
        else:
            print(f"no lib.rs or main.rs in {root}", file=sys.stderr)
            return 2
    crate = Crate(root)
    base = os.path.dirname(root)
    edges = crate.graph()
    nodes = sorted({m.node for m in crate.mods.values()})
    def shown(f):
        rel = os.path.relpath(f)
        return f if rel.startswith("..") else rel
    print(f"# module imports of {root} ({len(nodes)} module files, "
          f"{sum(1 for e in edges.values() if not e['test'])} edges + "
          f"{sum(1 for e in edges.values() if e['test'])} test-only)")
    width = max(len(name(n)) for n in nodes)
    for n in nodes:
        outs = sorted((d for (s, d) in edges if s == n), key=name)
        deps = ", ".join(name(d) + (" [test]" if edges[(n, d)]["test"] else "") for d in outs)
        test = " (test module)" if crate.mods[n].test else ""
        print(f"{name(n):<{width}} -> {deps or '-'}{test}")
    adj = defaultdict(set)
    for (s, d), e in edges.items():
        if with_tests or not (e["test"] or crate.mods[s].test or crate.mods[d].test):
            adj[s].add(d)
    comps = sccs(nodes, adj)
    scope = "test code included" if with_tests else "test code excluded"
    print()
    if not comps:
        print(f"# import cycles ({scope}): none")
    else:
        print(f"# import cycles ({scope}): {len(comps)} strongly connected component(s)")
    for i, comp in enumerate(comps, 1):
        print(f"{i}. {{{', '.join(name(c) for c in comp)}}} ({len(comp)} modules)")
        cyc = shortest_cycle(comp[0], comp, adj)
        print("   e.g. " + " -> ".join(name(c) for c in cyc))
        for s in comp:
            for d in sorted(adj[s] & set(comp), key=name):
                where = edges[(s, d)]["where"]
                print(f"   {name(s)} -> {name(d)}: {shown(where.split(':')[0])}:{where.split(':', 1)[1]}")
    return 1 if (check and comps) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
