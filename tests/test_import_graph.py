"""The import graph of the product (README, "Import graph"), read from the source with `ast`.

    config  <-  campaigns  <-  agent_desktop  <-  channels (messenger, webchat, …)

An app imports only the apps to its left: `campaigns` knows channels through the registry of
kinds (campaigns.kinds), `agent_desktop` through `agent_desktop.channels`, and a channel uses
`campaigns` and `agent_desktop` models and services, never their views or API views, and never
another channel. Within the product, modules import each other at the top of the file (no
import inside a function to dodge a cycle) and those imports form no cycle.
"""

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ("config", "campaigns", "agent_desktop")
CHANNELS = ("messenger", "webchat")
# Apps that read the others and that only `config` imports (urls) and templates link to.
READERS = ("reports",)
PRODUCT = CORE + CHANNELS + READERS
# What each core app may import of the product (itself included); a channel may import any
# app but another channel (and not the views of those it builds on). `config` wires the apps
# together (settings, urls, the Celery app) and is held only to the function and cycle rules.
MAY_IMPORT = {
    "campaigns": {"config", "campaigns"},
    "agent_desktop": {"config", "campaigns", "agent_desktop"},
    "reports": {"config", "campaigns", "agent_desktop", "reports"},
}
# Modules a channel must not import: the pages and API views of the apps it builds on.
VIEW_MODULE_NAMES = ("views", "api")

# Imports inside a function that are allowed, by (module, function): Django configures apps
# before their models can be imported, so `AppConfig.ready()` registers kinds and signal
# receivers with an import; migrations and management commands are left out entirely.
FUNCTION_IMPORTS_ALLOWED = {
    ("agent_desktop.apps", "ready"),  # connects assignment's signal receivers
    ("config.apps", "ready"),  # registers the system checks
    ("messenger.apps", "ready"),  # registers the Facebook Page kind
    ("webchat.apps", "ready"),  # registers the Website chat kind
    ("reports.apps", "ready"),  # connects the cycle table's receivers
}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name (or package)
    line: int
    function: str | None  # the enclosing function's name, None at module level

    def __str__(self):
        where = f" (in {self.function}())" if self.function else ""
        return f"{self.importer}:{self.line} imports {self.imported}{where}"


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _product_files():
    for app in PRODUCT:
        folder = ROOT / app
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))


def _is_module(dotted):
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _resolve(module, node):
    """Dotted names of what an import statement brings in (modules where a name is one)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the importing module's package, `level - 1` up
        package = module.split(".") if _is_package(module) else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    names = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        name = candidate if _is_module(candidate) else base
        if name not in names:
            names.append(name)
    return names


def _is_package(module):
    return (ROOT.joinpath(*module.split(".")) / "__init__.py").is_file()


def _imports_of(path):
    module = _module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, getattr(child, "name", "<lambda>") if function is None else function)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                for imported in _resolve(module, child):
                    if imported.split(".")[0] in PRODUCT:
                        found.append(Import(module, imported, child.lineno, function))
            else:
                visit(child, function)

    visit(tree, None)
    return found


def _all_imports():
    return [imp for path in _product_files() for imp in _imports_of(path)]


IMPORTS = _all_imports()


def _app(module):
    return module.split(".")[0]


def _exempt_from_function_rule(module):
    parts = module.split(".")
    return "migrations" in parts or parts[1:3] == ["management", "commands"]


def _is_view_module(module):
    last = module.split(".")[-1]
    return any(last == name or last.endswith(f"_{name}") for name in VIEW_MODULE_NAMES)


def app_rule_violations(imports, app):
    """Imports of `app`'s modules that cross the graph the wrong way, each with its rule."""
    broken = []
    for imp in imports:
        if _app(imp.importer) != app:
            continue
        target = _app(imp.imported)
        if app in CHANNELS:
            if target in CHANNELS and target != app:
                broken.append(f"{imp}: a channel imports another channel")
            elif target in READERS:
                broken.append(f"{imp}: a channel imports {target}, which only config imports")
            elif target in ("campaigns", "agent_desktop") and _is_view_module(imp.imported):
                broken.append(
                    f"{imp}: a channel imports {target}'s views; use its models, services, "
                    "selectors or kinds"
                )
        elif target not in MAY_IMPORT[app]:
            what = "a channel app" if target in CHANNELS else target
            broken.append(f"{imp}: {app} must not import {what} (README, 'Import graph')")
    return broken


def function_import_violations(imports):
    return [
        f"{imp}: an import inside a function; import at the top of the module (move what two "
        "modules share into a lower one to break a cycle)"
        for imp in imports
        if imp.function is not None
        and not _exempt_from_function_rule(imp.importer)
        and (imp.importer, imp.function) not in FUNCTION_IMPORTS_ALLOWED
    ]


def import_cycles(imports):
    """Cycles among module-level imports, each as a list of its edges."""
    graph = defaultdict(dict)
    for imp in imports:
        if imp.function is None and imp.importer != imp.imported:
            graph[imp.importer].setdefault(imp.imported, imp)
    cycles, state = [], {}

    def walk(module, path):
        state[module] = "open"
        for target, imp in sorted(graph.get(module, {}).items()):
            if state.get(target) == "open":
                start = next(i for i, edge in enumerate(path) if edge.importer == target)
                cycles.append([*path[start:], imp] if path else [imp])
            elif target not in state:
                walk(target, [*path, imp])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [])
    return cycles


def _apps_present():
    return [app for app in PRODUCT if (ROOT / app).is_dir() and app != "config"]


@pytest.mark.parametrize("app", _apps_present())
def test_each_app_imports_only_what_the_graph_allows(app):
    broken = app_rule_violations(IMPORTS, app)
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("app", [*_apps_present(), "config"])
def test_no_product_module_imports_inside_a_function(app):
    broken = function_import_violations([i for i in IMPORTS if _app(i.importer) == app])
    assert not broken, "\n".join(broken)


def test_module_level_imports_form_no_cycle():
    cycles = import_cycles(IMPORTS)
    assert not cycles, "\n\n".join(
        "import cycle:\n  " + "\n  ".join(str(edge) for edge in cycle) for cycle in cycles
    )


# --- The checks themselves catch what they are for ---------------------------------------------
def _edge(importer, imported, function=None):
    return Import(importer, imported, 1, function)


def test_the_rules_name_the_import_that_breaks_them():
    imports = [
        _edge("campaigns.views", "messenger.health"),
        _edge("agent_desktop.selectors", "messenger.models"),
        _edge("messenger.outbound", "webchat.models"),
        _edge("messenger.webhooks", "campaigns.views"),
        _edge("messenger.webhooks", "agent_desktop.tools_api"),
        _edge("messenger.webhooks", "campaigns.services"),  # allowed
    ]
    assert app_rule_violations(imports, "campaigns") == [
        "campaigns.views:1 imports messenger.health: campaigns must not import a channel app "
        "(README, 'Import graph')"
    ]
    assert app_rule_violations(imports, "agent_desktop")[0].startswith(
        "agent_desktop.selectors:1 imports messenger.models: agent_desktop must not import"
    )
    assert app_rule_violations(imports, "messenger") == [
        "messenger.outbound:1 imports webchat.models: a channel imports another channel",
        "messenger.webhooks:1 imports campaigns.views: a channel imports campaigns's views; "
        "use its models, services, selectors or kinds",
        "messenger.webhooks:1 imports agent_desktop.tools_api: a channel imports "
        "agent_desktop's views; use its models, services, selectors or kinds",
    ]


def test_a_function_level_import_and_a_cycle_are_found():
    imports = [
        _edge("messenger.outbound", "messenger.tasks", function="enqueue_send"),
        _edge("messenger.apps", "campaigns.kinds", function="ready"),  # allowed
        _edge("messenger.migrations.0001_initial", "messenger.models", function="forwards"),
        _edge("messenger.tasks", "messenger.outbound"),
        _edge("messenger.outbound", "messenger.services"),
        _edge("messenger.services", "messenger.tasks"),
    ]
    (broken,) = function_import_violations(imports)
    assert broken.startswith(
        "messenger.outbound:1 imports messenger.tasks (in enqueue_send()): an import inside"
    )
    (cycle,) = import_cycles(imports)
    assert [str(edge) for edge in cycle] == [
        "messenger.outbound:1 imports messenger.services",
        "messenger.services:1 imports messenger.tasks",
        "messenger.tasks:1 imports messenger.outbound",
    ]


def test_the_source_is_read_whole():
    """Imports inside functions and `from package import module` are seen."""
    seen = {(i.importer, i.imported) for i in IMPORTS}
    assert ("messenger.apps", "campaigns.kinds") in seen  # inside ready()
    assert ("messenger.processing", "agent_desktop.services") in seen  # `from app import module`
    assert ("messenger.tasks", "messenger.processing") in seen


def test_messenger_services_is_only_a_name_list_for_callers_outside_the_product():
    """messenger.services names the package's operations for tests, bench and scripts; a product
    module importing it would pull in every concern (and lead back to the old cycles)."""
    importers = sorted(
        str(i) for i in IMPORTS if i.imported == "messenger.services" and i.importer != i.imported
    )
    assert importers == []
