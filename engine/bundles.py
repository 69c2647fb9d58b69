"""Grouping BPMN and DMN files into deployments: one per root process, with what it calls and uses.

A root is an executable process that no other process among the files calls. Its deployment holds the
file that declares it, the files of every process it calls (transitively, across files) and the DMN
files whose decisions it or its called processes use. A file that no root needs is named, never stored
by accident. Only lxml reads the files here (the structure is enough); the full checks come after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from engine.errors import EngineError, Problem
from engine.i18n import t

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


@dataclass
class ProcessFacts:
    """What one BPMN process declares: its file, whether it runs, what it calls and which decisions it uses."""

    id: str
    file: str
    executable: bool
    name: str = ""
    calls: set[str] = field(default_factory=set)
    decisions: set[str] = field(default_factory=set)


@dataclass
class Catalogue:
    """The processes and decisions a set of files declares, and the files that could not be read."""

    processes: dict[str, ProcessFacts] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)  # decision id -> file
    problems: list[Problem] = field(default_factory=list)

    def file_of_process(self, process_id: str) -> str | None:
        """The file declaring a process (None when none does)."""
        facts = self.processes.get(process_id)
        return facts.file if facts else None


@dataclass(frozen=True)
class Bundle:
    """One deployment: its root process (None: the files did not say which) and its files."""

    root: str | None
    files: dict[str, str]


@dataclass
class BundlePlan:
    """How a set of files becomes deployments, and why some cannot (`problems`)."""

    bundles: list[Bundle]
    problems: list[Problem]
    catalogue: Catalogue


class ConfirmationNeededError(EngineError):
    """Deploying would make a file the next version of a process deployed from another file; ask first."""

    def __init__(self, messages: list):
        self.messages = messages
        super().__init__("; ".join(str(m) for m in messages))


def scan(files: Mapping[str, str]) -> Catalogue:
    """The processes (with their call activities and decisions) and the decisions each file declares."""
    catalogue = Catalogue()
    for name, text in sorted(files.items()):
        try:
            root = etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, _XML)
        except etree.XMLSyntaxError as exc:
            line = getattr(exc, "lineno", None) or 1
            catalogue.problems.append(Problem(name, None, t(
                "is not a well-formed XML file (the first mistake is on line %(line)s); save it again from the modeler"
                " as BPMN 2.0 (.bpmn) or DMN (.dmn)", line=line)))
            continue
        local = etree.QName(root).localname if isinstance(root.tag, str) else ""
        if local != "definitions":
            catalogue.problems.append(Problem(name, None, t(
                "is XML but not a BPMN or DMN model (it starts with <%(tag)s>); export the model as BPMN 2.0 or DMN",
                tag=local or "?")))
            continue
        if name.lower().endswith(".dmn"):
            for node in root.iter():
                if isinstance(node.tag, str) and etree.QName(node).localname == "decision" and node.get("id"):
                    catalogue.decisions.setdefault(node.get("id"), name)
            continue
        for node in root.iter(f"{{{BPMN_NS}}}process"):
            pid = node.get("id")
            if not pid:
                continue
            facts = ProcessFacts(pid, name, (node.get("isExecutable") or "").lower() == "true", node.get("name") or "")
            for call in node.iter(f"{{{BPMN_NS}}}callActivity"):
                if call.get("calledElement"):
                    facts.calls.add(call.get("calledElement"))
            for called in node.iter(f"{{{SPIFF_NS}}}calledDecisionId"):
                if (called.text or "").strip():
                    facts.decisions.add(called.text.strip())
            catalogue.processes.setdefault(pid, facts)
    return catalogue


def plan(files: Mapping[str, str], process_key: str | None = None) -> BundlePlan:
    """The deployments `files` make: one per root process (or only `process_key`'s), and the files none uses."""
    catalogue = scan(files)
    if catalogue.problems:
        return BundlePlan([], catalogue.problems, catalogue)
    processes = catalogue.processes
    if not processes:
        return BundlePlan([], [Problem(name, None, t(
            "holds decision tables only; deploy it together with the .bpmn file of a process that uses them"))
            for name in sorted(files)], catalogue)
    called = {c for p in processes.values() for c in p.calls}
    if process_key is not None:
        roots = [process_key] if process_key in processes and processes[process_key].executable else []
    else:
        roots = sorted(pid for pid, p in processes.items() if p.executable and pid not in called)
    if not roots:
        # No process to start from (none executable, an unknown --key, or a cycle of calls): the full check
        # of all the files together says what is wrong in the engine's own words.
        return BundlePlan([Bundle(process_key, dict(files))], [], catalogue)
    bundles = [Bundle(root, {n: files[n] for n in sorted(_files_of(root, catalogue))}) for root in roots]
    used = {n for b in bundles for n in b.files}
    problems = [_unused(name, catalogue, process_key) for name in sorted(set(files) - used)]
    return BundlePlan(bundles, problems, catalogue)


def _files_of(root: str, catalogue: Catalogue) -> set[str]:
    """The files a root's deployment needs: its processes' files and the DMN files of their decisions."""
    seen, todo, names = set(), [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in catalogue.processes:
            continue  # a process in none of the files: the check names it
        seen.add(pid)
        facts = catalogue.processes[pid]
        names.add(facts.file)
        todo.extend(facts.calls)
        names.update(catalogue.decisions[d] for d in facts.decisions if d in catalogue.decisions)
    return names


def _unused(name: str, catalogue: Catalogue, process_key: str | None) -> Problem:
    """Why a file given is in no deployment, and what to do."""
    if process_key is not None:
        return Problem(name, None, t("process %(key)s does not use this file; leave it out or deploy it on its own",
                                     key=repr(process_key)))
    if name.lower().endswith(".dmn"):
        decisions = sorted(d for d, f in catalogue.decisions.items() if f == name)
        return Problem(name, None, t(
            "no process deployed with it uses its decisions (%(decisions)s); leave it out, or call one of them"
            " from a business rule task", decisions=", ".join(decisions) or t("none")))
    declared = sorted(p.id for p in catalogue.processes.values() if p.file == name)
    return Problem(name, None, t(
        "none of its processes (%(processes)s) is executable or called by one that is; mark the process"
        " executable or leave the file out", processes=", ".join(declared) or t("none")))
