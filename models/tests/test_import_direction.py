"""Imports inside netbend_models run one way: no module imports, directly or through others, a
module that imports it, and no sub-package depends on a sub-package that depends on it.

Every import statement counts, also those inside functions (a lazy import hides a cycle from
Python, not from the reader). Read with `ast`, nothing is imported."""
import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "netbend_models"


def module_files(package_dir=PACKAGE_DIR):
    """Dotted module name -> file, packages by their __init__.py."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (package_dir.name, *path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_names(name, path, is_package):
    """(line, dotted name) of every module an import statement of the file names: for
    `from X import a`, X.a when that is a module, else X."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found += [(node.lineno, target, alias.name) for alias in node.names]
    return found


def import_graph(package_dir=PACKAGE_DIR):
    """module -> {imported module inside the package: first line importing it}."""
    modules = module_files(package_dir)
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    graph = {}
    for name, path in modules.items():
        edges = {}
        for line, target, attribute in imported_names(name, path, name in packages):
            if attribute is not None and f"{target}.{attribute}" in modules:
                target = f"{target}.{attribute}"
            while target not in modules and "." in target:  # `import a.b.c` of a module a.b
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def cycles(graph):
    """Every cycle a depth-first search meets, each as [a, b, ..., a] (one per back edge)."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def subpackage(module):
    """netbend_models.x.y -> netbend_models.x; a top-level module is its own unit."""
    return ".".join(module.split(".")[:2])


def package_graph(graph):
    """sub-package -> {sub-package it imports: 'module -> module (line N)' of one such import}."""
    out = {}
    for module, edges in graph.items():
        for target, line in edges.items():
            a, b = subpackage(module), subpackage(target)
            out.setdefault(a, {})
            if a != b:
                out[a].setdefault(b, f"{module} -> {target} (line {line})")
    return out


def describe(cycle, graph):
    """'a -> b -> a' and where each import is."""
    return " -> ".join(cycle) + "  (" + "; ".join(
        f"{a} line {graph[a][b]} imports {b}" if isinstance(graph[a][b], int) else graph[a][b]
        for a, b in zip(cycle, cycle[1:])) + ")"


def test_no_module_import_cycle():
    graph = import_graph()
    assert "netbend_models.cli" in graph and "netbend_models.export.vae" in graph
    found = cycles(graph)
    assert not found, "import cycles in netbend_models:\n" + "\n".join(describe(c, graph) for c in found)


def test_sub_packages_depend_one_way():
    packages = package_graph(import_graph())
    found = cycles(packages)
    assert not found, "sub-packages that import each other:\n" + "\n".join(describe(c, packages) for c in found)


def test_the_check_finds_cycles(tmp_path):
    package = tmp_path / "netbend_models"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "low.py").write_text("import os\n")
    (package / "sub" / "a.py").write_text("from .b import x\nfrom .. import low\n")
    (package / "sub" / "b.py").write_text("def f():\n    from netbend_models.sub import c\n")
    (package / "sub" / "c.py").write_text("from . import a\nimport netbend_models.low\n")
    graph = import_graph(package)
    assert graph["netbend_models.sub.a"] == {"netbend_models.sub.b": 1, "netbend_models.low": 2}
    assert graph["netbend_models.sub.c"] == {"netbend_models.sub.a": 1, "netbend_models.low": 2}
    assert cycles(graph) == [["netbend_models.sub.a", "netbend_models.sub.b", "netbend_models.sub.c",
                              "netbend_models.sub.a"]]
    assert "netbend_models.sub.b line 2 imports netbend_models.sub.c" in describe(cycles(graph)[0], graph)
    (package / "low.py").write_text("from .sub import a\n")
    assert ["netbend_models.low", "netbend_models.sub", "netbend_models.low"] in cycles(package_graph(
        import_graph(package)))
