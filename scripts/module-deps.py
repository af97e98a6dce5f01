#!/usr/bin/env python3
"""Which module of the `stance` library uses which, and whether any reaches upward.

Reads `src/lib.rs` for the order in which the top-level modules are declared (the order data
flows through them: a module may use only modules declared before it) and every library
source file (not `src/cli/`, `src/main.rs` or test code) for `crate::MODULE` and `super::`
paths. Prints the edges between top-level modules, then flags

- an upward edge: a module using one declared after it;
- a cycle between top-level modules;
- a cycle between files inside a module (a file's `use super::x` or `crate::m::x` of a
  sibling file; the parent's `mod` lines and `pub use` re-exports are not uses).

Exits 1 if anything is flagged. Usage: scripts/module-deps.py [REPO]
"""

import os
import re
import sys
from collections import defaultdict

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
src = os.path.join(root, "src")


def declared_order():
    text = open(os.path.join(src, "lib.rs")).read()
    text = strip_tests(text)
    return re.findall(r"(?m)^pub mod (\w+);", text)


def strip_tests(text):
    """The text before the first `#[cfg(test)]` item that is a module (tests come last)."""
    match = re.search(r"#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod \w+", text)
    return text[: match.start()] if match else text


def strip_comments(text):
    """The code without comments and string literals (a word in a message is not a use)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return re.sub(r"(?m)//.*$", "", text)


def test_only_files():
    """Files declared `#[cfg(test)] mod NAME;` by their parent: test code, not library."""
    skipped = set()
    for dirpath, _, names in os.walk(src):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            text = open(path).read()
            for child in re.findall(r"#\[cfg\(test\)\]\s*(?:pub(?:\(crate\))?\s+)?mod (\w+);", text):
                base = dirpath if name in ("mod.rs", "lib.rs") else os.path.join(dirpath, name[:-3])
                skipped.add(os.path.normpath(os.path.join(base, child + ".rs")))
    return skipped


def module_file(top, sub=None):
    """The file holding `crate::top::sub` (or `crate::top` when `sub` is None or not a file)."""
    if sub:
        candidate = os.path.join(src, top, sub + ".rs")
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
        candidate = os.path.join(src, top, sub, "mod.rs")
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    for candidate in (os.path.join(src, top + ".rs"), os.path.join(src, top, "mod.rs")):
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return None


def reexports(top):
    """Names a module's parent file re-exports (`pub use child::{A, B}`), by the child file
    that defines them: a use of `super::A` is a use of that file, not of the parent."""
    parent = module_file(top)
    if parent is None or not parent.endswith("mod.rs") and not os.path.isdir(os.path.join(src, top)):
        return {}
    text = strip_comments(strip_tests(open(parent).read()))
    names = {}
    for child, group in re.findall(r"pub(?:\([^)]*\))? use (\w+)::(\{[^}]*\}|\w+);", text):
        target = module_file(top, child)
        if target is None or target == parent:
            continue
        for name in re.findall(r"\b(\w+)\s*(?:,|\}|$)", group.strip("{}") + ","):
            names[name] = target
    return names


def top_of(path):
    rel = os.path.relpath(path, src)
    return rel.split(os.sep)[0].removesuffix(".rs")


def library_files():
    skipped = test_only_files()
    for dirpath, _, names in os.walk(src):
        for name in sorted(names):
            path = os.path.normpath(os.path.join(dirpath, name))
            if not name.endswith(".rs") or path in skipped:
                continue
            if top_of(path) in ("cli", "main", "lib"):
                continue
            yield path


def uses(path):
    """(top-level modules used, sibling files used) by the library code of `path`."""
    text = strip_comments(strip_tests(open(path).read()))
    top = top_of(path)
    is_parent = os.path.basename(path) == "mod.rs" or os.path.dirname(path) == src
    exported = reexports(top)
    modules, files = set(), set()

    def resolve(name):
        """The file `super::name` or `crate::top::name` means."""
        return exported.get(name) or module_file(top, name)

    for other, sub in re.findall(r"\bcrate::(\w+)(?:::(\w+))?", text):
        if other == "testing":
            continue
        if other != top:
            modules.add(other)
        else:
            target = resolve(sub) if sub else None
            if target and target != path:
                files.add(target)
    if not is_parent:
        # `super::x` in a child file: the sibling file `x`, or the parent (mod.rs).
        for sub in re.findall(r"\bsuper::(\w+)", text):
            target = resolve(sub)
            if target and target != path:
                files.add(target)
        for group in re.findall(r"\bsuper::\{([^}]*)\}", text):
            for sub in re.findall(r"(?:^|,)\s*(\w+)", group):
                target = resolve(sub)
                if target and target != path:
                    files.add(target)
    else:
        # The parent's own code (not its `mod` lines or `pub use` re-exports) using a child.
        body = re.sub(r"(?ms)^\s*pub(\([^)]*\))? use [^;]*;", "", text)
        body = re.sub(r"(?m)^\s*(pub(\([^)]*\))? )?mod \w+;", "", body)
        children = re.findall(r"(?m)^\s*(?:pub(?:\([^)]*\))? )?mod (\w+);", text)
        for child in children:
            # `child::x`, but not `crate::other::child::x`.
            if re.search(r"(?<![:\w])" + child + r"::", body):
                target = module_file(top, child)
                if target and target != path:
                    files.add(target)
        # Re-exported names the parent's own code uses (say, in its error type).
        for name, target in exported.items():
            if target != path and re.search(r"\b" + name + r"\b", body):
                files.add(target)
    return modules, files


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main():
    order = declared_order()
    position = {name: i for i, name in enumerate(order)}
    module_graph, file_graph = defaultdict(set), defaultdict(set)
    for path in library_files():
        modules, files = uses(path)
        module_graph[top_of(path)] |= modules
        file_graph[os.path.relpath(path, root)] |= {os.path.relpath(f, root) for f in files}

    problems = []
    print("modules in declaration order, and what each uses:")
    for name in order:
        used = sorted(module_graph.get(name, ()), key=lambda m: position.get(m, 99))
        print(f"  {name:<11} {', '.join(used) if used else '-'}")
        for other in used:
            if other not in position:
                problems.append(f"{name} uses {other}, which lib.rs does not declare")
            elif position[other] > position[name]:
                problems.append(f"upward: {name} uses {other}, declared after it")
    for component in cycles(module_graph):
        problems.append("module cycle: " + " <-> ".join(component))
    for component in cycles(file_graph):
        problems.append("file cycle: " + " <-> ".join(component))

    if problems:
        print("\nproblems:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print("\nno module uses one declared after it; no cycle between modules or files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
