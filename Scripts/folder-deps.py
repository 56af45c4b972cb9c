#!/usr/bin/env python3
"""Print the dependency graph between the top-level folders of Sources/GatewatchCore.

A folder depends on another when a file in it names a type declared at the top
level of a file in the other (struct, class, enum, protocol, actor, typealias;
extensions declare nothing). Comments and string literals are stripped roughly
before matching; names match on word boundaries. Exits 1 if the graph has a
cycle, printing each edge of the cycle with one example reference.

Usage: Scripts/folder-deps.py [path/to/Sources/GatewatchCore]
"""

import os
import re
import sys

DECL = re.compile(
    r"^(?:(?:public|package|internal|fileprivate|private|final|indirect|nonisolated|@\w+(?:\([^)]*\))?)\s+)*"
    r"(?:struct|class|enum|protocol|actor|typealias)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip(text):
    """Blank out comments and string literals, keeping line structure."""
    text = re.sub(r'"""[\s\S]*?"""', lambda m: "\n" * m.group(0).count("\n"), text)
    text = re.sub(r"/\*[\s\S]*?\*/", lambda m: "\n" * m.group(0).count("\n"), text)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return text


def folder_of(root, path):
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    return parts[0] if len(parts) > 1 else "."


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "Sources", "GatewatchCore")
    root = os.path.normpath(root)
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(".swift"):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as handle:
                    files[path] = strip(handle.read())

    owner = {}  # type name -> folder
    for path, text in sorted(files.items()):
        for line in text.split("\n"):
            if line[:1].isspace():
                continue  # nested declarations are not top level
            match = DECL.match(line)
            if match:
                owner.setdefault(match.group(1), folder_of(root, path))

    edges = {}  # (from, to) -> example "file:line: Name"
    everything = {}  # (from, to) -> every "file:line: Name"
    for path, text in sorted(files.items()):
        source = folder_of(root, path)
        for number, line in enumerate(text.split("\n"), 1):
            for word in WORD.findall(line):
                target = owner.get(word)
                if target is None or target == source:
                    continue
                key = (source, target)
                everything.setdefault(key, []).append("%s:%d: %s" % (os.path.relpath(path, root), number, word))
                if key not in edges:
                    edges[key] = "%s:%d: %s" % (os.path.relpath(path, root), number, word)

    graph = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    folders = sorted(set(folder_of(root, p) for p in files))
    print("Folder dependencies (%s):" % root)
    for folder in folders:
        targets = sorted(graph.get(folder, ()))
        print("  %s -> %s" % (folder, ", ".join(targets) if targets else "(none)"))

    cycles = find_cycles(folders, graph)
    if not cycles:
        print("No cycles.")
        return 0
    for cycle, component in cycles:
        print("Cycle: " + " -> ".join(cycle + [cycle[0]]))
        for index, source in enumerate(cycle):
            target = cycle[(index + 1) % len(cycle)]
            print("  %s -> %s  e.g. %s" % (source, target, edges[(source, target)]))
        print("  Every edge among %s:" % ", ".join(sorted(component)))
        for key in sorted(edges):
            if key[0] in component and key[1] in component:
                names = sorted(set(ref.rsplit(" ", 1)[1] for ref in everything[key]))
                print("    %s -> %s  (%s)  e.g. %s" % (key[0], key[1], ", ".join(names), edges[key]))
    return 1


def find_cycles(folders, graph):
    """One cycle per strongly connected component with more than one folder."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []
    counter = [0]

    def connect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(set(component))

    sys.setrecursionlimit(10000)
    for folder in folders:
        if folder not in index:
            connect(folder)

    cycles = []
    for component in components:
        start = min(component)
        # Breadth-first search for the shortest path back to start inside the component.
        parents, queue, found = {start: None}, [start], None
        while queue and found is None:
            node = queue.pop(0)
            for nxt in sorted(graph.get(node, ())):
                if nxt not in component:
                    continue
                if nxt == start:
                    found = node
                    break
                if nxt not in parents:
                    parents[nxt] = node
                    queue.append(nxt)
        path, node = [], found
        while node is not None:
            path.append(node)
            node = parents[node]
        cycles.append((list(reversed(path)), component))
    return cycles


if __name__ == "__main__":
    sys.exit(main())
