"""Deploying BPMN/DMN files as immutable, versioned definitions, checked first."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from engine import bundles, spiff
from engine import imports as imports
from engine.bundles import BundlePlan, ConfirmationNeededError
from engine.dmn_cells import check_files as check_dmn_cells
from engine.errors import DeploymentError, ExpressionError, NotFoundError, OperatorError, Problem
from engine.expressions import RestrictedEvaluator
from engine.i18n import Text, t, text_of
from engine.models import ProcessDefinition
from engine.registry import OperatorRegistry


def bundle_sha256(files: Mapping[str, str]) -> str:
    """A digest of a set of files that does not depend on their order."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(b"\0")
        h.update(files[name].encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def read_files(paths: list[str | Path]) -> dict[str, str]:
    """{base name: text} of BPMN/DMN files on disk, refusing undecodable ones clearly."""
    files: dict[str, str] = {}
    for path in map(Path, paths):
        if path.name in files:
            raise DeploymentError([Problem(path.name, None, t("two files share this name; rename one"))])
        try:
            files[path.name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DeploymentError([Problem(path.name, None, t("is not UTF-8 text; save it as UTF-8"))]) from None
        except OSError as exc:
            message = t("cannot be read: %(reason)s; check the path and that you may read it", reason=exc.strerror or str(exc))
            raise DeploymentError([Problem(path.name, None, message)]) from None
    return files


@dataclass(frozen=True)
class Deployment:
    """The outcome of a deploy: the definition row and whether it is new."""

    definition: ProcessDefinition
    created: bool


class SpecCache:
    """Parsed specs by sha256: parsing happens once per definition per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sha: dict[tuple[str, str], spiff.CompiledDefinition] = {}

    def get(self, definition: ProcessDefinition) -> spiff.CompiledDefinition:
        """The compiled form of a stored definition."""
        key = (definition.sha256, definition.process_key)
        compiled = self._by_sha.get(key)
        if compiled is None:
            parser, problems = spiff.parse_files(definition.files)
            if not problems:
                compiled, problems = spiff.compile_process(parser, definition.process_key, lambda _: "?")
            if compiled is None:
                raise DeploymentError(problems)
            with self._lock:
                self._by_sha[key] = compiled
        return compiled


SPEC_CACHE = SpecCache()
_LATEST = "ioc_latest_definition"  # session.info key: process key -> newest ProcessDefinition row


class DefinitionService:
    """Validates and deploys definitions; finds the version a new instance should use."""

    def __init__(self, session: Session, registry: OperatorRegistry, roles: Mapping[str, str],
                 evaluator: RestrictedEvaluator | None = None, cache: SpecCache = SPEC_CACHE):
        self.session = session
        self.registry = registry
        self.roles = roles  # lane name (a role key or its label) -> role key
        self.evaluator = evaluator or RestrictedEvaluator()
        self.cache = cache

    # -- checking
    def check(self, files: Mapping[str, str],
              process_key: str | None = None) -> tuple[spiff.CompiledDefinition | None, list[Problem]]:
        """Parse and check files; returns the compiled definition and every problem found.

        The import to-do list's items that stop a deploy come first (engine/imports.py, in the same
        words as the designer's list), then what SpiffWorkflow and the element checks find.
        """
        if not files:
            return None, [Problem("-", None, t("no file given; name the .bpmn and .dmn files to deploy"),
                                  code="file.none")]
        todo = imports.blocking(imports.analyse(files, self.roles, self.evaluator))
        compiled, problems = self._check(files, process_key)
        problems = imports.merge(todo, problems)
        return compiled, problems

    def _check(self, files: Mapping[str, str],
               process_key: str | None) -> tuple[spiff.CompiledDefinition | None, list[Problem]]:
        parser, problems = spiff.parse_files(dict(files))
        if problems:
            return None, problems
        process_ids = spiff.executable_process_ids(parser)
        file_of = _file_finder(files)
        if process_key is None:
            called = _called_process_ids(files)
            roots = [p for p in process_ids if p not in called]
            if len(roots) != 1:
                return None, self._no_single_root(files, parser, process_ids, roots, file_of)
            process_key = roots[0]
        elif process_key not in process_ids:
            if process_key in parser.process_parsers:  # there, but marked not executable
                return None, [imports.not_executable(file_of(process_key), process_key,
                                                     parser.process_parsers[process_key].get_name())]
            every = sorted(parser.process_parsers)
            return None, [Problem(", ".join(sorted(files)), None,
                                  t("holds no process with id %(key)s (processes: %(found)s); give one of these ids",
                                    key=repr(process_key), found=_listed(every)), code="process.unknown")]
        missing_calls = [
            Problem(name, element, t("calls process %(called)s, which is in none of the files deployed together"
                                     " (found: %(found)s); add its file or fix calledElement",
                                     called=repr(called), found=_listed(process_ids)), code="call.missing")
            if called else Problem(name, element, t("call activity names no process to call; choose the process it"
                                                    " calls (calledElement)"), code="call.missing")
            for name, element, called in _call_activities(files) if called not in parser.process_parsers
        ]
        if missing_calls:
            return None, missing_calls
        compiled, problems = spiff.compile_process(parser, process_key, file_of)
        if compiled is None:
            return None, problems
        for item in spiff.element_checks(compiled):
            for message, code in self._check_element(item):
                element = item.element_id
                if item.kind == "condition":
                    element = _flow_between(files, item.element_id, item.extra) or element
                problems.append(Problem(file_of(element), element, message, code=code))
        problems.extend(check_dmn_cells(files, self.evaluator.compile_check))  # FEEL the engine misreads
        return compiled, problems

    def _no_single_root(self, files: Mapping[str, str], parser, process_ids: list[str], roots: list[str],
                        file_of) -> list[Problem]:
        """Why no one process is the one to deploy, in words that say what to do (never "use --key" in a circle)."""
        if roots:
            return [Problem(", ".join(sorted(files)), None, t(
                "holds several processes that no other calls (%(found)s); deploy one at a time, naming it with --key %(first)s"
                " (or the id of another)", found=_listed(roots), first=roots[0]), code="process.several_roots")]
        if process_ids:  # every executable process is called by another one
            return [Problem(", ".join(sorted(files)), None, t(
                "every process is called by another one (%(found)s); name the one to start with --key %(first)s (or the"
                " id of another)", found=_listed(process_ids), first=process_ids[0]), code="process.several_roots")]
        if parser.process_parsers:
            return [imports.not_executable(file_of(pid), pid, p.get_name()) for pid, p in parser.process_parsers.items()]
        return [Problem(", ".join(sorted(files)), None, t(
            "hold no process, only decision tables; deploy them together with the .bpmn file of the process that"
            " calls them"), code="process.none")]

    def _check_element(self, item: spiff.ElementCheck) -> list[tuple[str, str]]:
        """What is wrong with one element: (message, kind) each; none when it is fine."""
        if item.kind == "service":
            if not item.value:
                return [(t("service task has no operator; choose one from the registry"), "operator.missing")]
            try:
                return [(m, "operator.params") for m in self.registry.check_params(item.value, item.extra)]
            except OperatorError as exc:
                return [(text_of(exc), "operator.unknown")]
        if item.kind == "lane":
            if item.value is None:
                return [(t("user task is in no lane; put it in the lane of the role that does it"), "lane.missing")]
            if item.value not in self.roles:
                known = ", ".join(sorted(set(self.roles.values())))
                return [(t("lane %(lane)s names no known role (known roles: %(known)s); name the lane after one of them",
                           lane=repr(item.value), known=known), "lane.role")]
            return []
        if item.kind == "list":
            if item.value not in self.registry.lists:
                return [(t("field %(field)s takes its choices from list %(list)s, which does not exist (known lists:"
                           " %(known)s); name one of them", field=repr(item.extra), list=repr(item.value),
                           known=", ".join(sorted(self.registry.lists)) or t("none")), "list.unknown")]
            return []
        if item.kind == "timer":
            message = spiff.check_timer(item.value, item.extra, self.evaluator)
            return [(message, "timer.invalid")] if message else []
        if item.kind == "condition":
            juel = imports.juel_condition("", "", item.value, self.evaluator)
            if juel is not None:
                return [(juel.message, "condition.juel")]
            try:
                self.evaluator.compile_check(item.value, mode="eval")
            except ExpressionError as exc:
                # The sandbox's own reason stays English (engine/expressions.py is not translated).
                return [(t("condition is refused: %(reason)s", reason=_one_line(text_of(exc))), "condition.refused")]
            return []
        if item.kind == "script":
            try:
                self.evaluator.compile_check(item.value, mode="exec")
            except ExpressionError as exc:
                return [(t("script is refused: %(reason)s", reason=_one_line(text_of(exc))), "script.refused")]
            return [(p.message, p.code or "script.refused") for p in imports.script_problems("", "", item.value)]
        return []

    # -- deploying
    def deploy(self, files: Mapping[str, str], process_key: str | None = None, deployed_by: str | None = None,
               note: str | None = None, source: str | None = None, draft_id: int | None = None) -> Deployment:
        """Check and store `files` as the next version of their process (unchanged files: no new version)."""
        compiled, problems = self.check(files, process_key)
        if problems or compiled is None:
            raise DeploymentError(problems)
        return self._store(compiled, files, deployed_by, note, source, draft_id)

    def plan(self, files: Mapping[str, str], process_key: str | None = None) -> BundlePlan:
        """The deployments a set of files makes (one per root process) and why a file is in none."""
        return bundles.plan(files, process_key)

    def takeovers(self, plan: BundlePlan) -> list[Text]:
        """Warnings for roots whose process id was deployed, last time, from a file of another name."""
        messages = []
        for bundle in plan.bundles:
            newest = self._newest(bundle.root) if bundle.root else None
            new_file = plan.catalogue.file_of_process(bundle.root) if bundle.root else None
            if newest is None or new_file is None:
                continue
            old_file = bundles.scan(newest.files).file_of_process(newest.process_key)
            if old_file is not None and old_file != new_file:
                messages.append(t("%(file)s declares process %(key)s, which was deployed from %(old)s (version"
                                  " %(version)s); deploying it makes this file version %(next)s of %(key)s",
                                  file=new_file, key=repr(newest.process_key), old=old_file,
                                  version=newest.version, next=newest.version + 1))
        return messages

    def deploy_bundles(self, files: Mapping[str, str], process_key: str | None = None, *,
                       deployed_by: str | None = None, note: str | None = None, source: str | None = None,
                       draft_id: int | None = None, confirm: bool = False) -> list[Deployment]:
        """Deploy each root process of `files` with the processes and decisions it uses, or nothing at all.

        Every bundle is checked before anything is stored; a root taking over a process deployed from
        another file raises `ConfirmationNeededError` unless `confirm`.
        """
        plan = self.plan(files, process_key)
        problems = list(plan.problems)
        checked = []
        for bundle in plan.bundles:
            compiled, found = self.check(bundle.files, bundle.root)
            problems.extend(p for p in found if p not in problems)  # a shared file's problem once
            if compiled is not None and not found:
                checked.append((compiled, bundle.files))
        if problems:
            raise DeploymentError(problems)
        warnings = self.takeovers(plan)
        if warnings and not confirm:
            raise ConfirmationNeededError(warnings)
        return [self._store(compiled, bundle_files, deployed_by, note, source, draft_id)
                for compiled, bundle_files in checked]

    def _store(self, compiled: spiff.CompiledDefinition, files: Mapping[str, str], deployed_by: str | None,
               note: str | None, source: str | None, draft_id: int | None) -> Deployment:
        """Store checked files as the next version of their process, unless the newest holds the same files."""
        digest = bundle_sha256(files)
        latest = self._newest(compiled.process_id)  # never the session's remembered one: compare with the stored
        if latest is not None and latest.sha256 == digest:
            return Deployment(latest, created=False)
        next_version = (self.session.scalar(
            select(func.max(ProcessDefinition.version)).where(ProcessDefinition.process_key == compiled.process_id)
        ) or 0) + 1
        row = ProcessDefinition(process_key=compiled.process_id, version=next_version, name=compiled.name,
                                sha256=digest, files=dict(files), deployed_by=deployed_by,
                                note=(note or "").strip() or None, source=source, draft_id=draft_id)
        self.session.add(row)
        self.session.flush()
        self.session.info.pop(_LATEST, None)
        return Deployment(row, created=True)

    # -- looking up
    def latest(self, process_key: str, missing_ok: bool = False) -> ProcessDefinition | None:
        """The newest version of a process key (remembered for the session, like units and categories)."""
        # A session is one request, task or sweep batch, so one query per intake is saved and a
        # version deployed elsewhere meanwhile is used from the next session on. Deploying through
        # this session forgets it; a row rolled back or detached since is not persistent and is read again.
        cache = self.session.info.setdefault(_LATEST, {})
        row = cache.get(process_key)
        if row is None or not sa_inspect(row).persistent:
            row = self._newest(process_key)
            if row is not None:
                cache[process_key] = row
        if row is None and not missing_ok:
            raise NotFoundError(t("no process %(key)s is deployed; deploy it with `ioc deploy`", key=repr(process_key)))
        return row

    def _newest(self, process_key: str) -> ProcessDefinition | None:
        with self.session.no_autoflush:  # pending rows of the caller need not be written for this
            return self.session.scalar(
                select(ProcessDefinition).where(ProcessDefinition.process_key == process_key)
                .order_by(ProcessDefinition.version.desc()).limit(1)
            )

    def compiled(self, definition: ProcessDefinition) -> spiff.CompiledDefinition:
        """The parsed spec of a stored definition (cached)."""
        return self.cache.get(definition)


def _listed(names: list[str]) -> Text | str:
    """Names joined with commas, or "none"."""
    return ", ".join(names) or t("none")


def _file_finder(files: Mapping[str, str]):
    """A function telling which file declares an element id (for error messages)."""
    def file_of(element_id: str) -> str:
        needle = f'id="{element_id}"'
        for name, text in files.items():
            if needle in text:
                return name
        return ", ".join(sorted(files))
    return file_of


def _one_line(reason: str) -> str:
    """A reason on one line, without Python's exception names (the sandbox says "SyntaxError: …")."""
    return re.sub(r"^(?:[A-Za-z]*(?:Error|Exception)): *", "", " ".join(str(reason).split()))


def _flow_between(files: Mapping[str, str], source: str, target: str | None) -> str | None:
    """The id of the sequence flow from `source` to `target` (a condition belongs to its flow)."""
    if not target:
        return None
    for name, text in files.items():
        if not name.endswith(".bpmn") or f'id="{source}"' not in text:
            continue
        root, _problem = imports.read_xml(name, text)
        if root is None:
            continue
        for flow in root.iter(imports.q("sequenceFlow")):
            if flow.get("sourceRef") == source and flow.get("targetRef") == target:
                return flow.get("id")
    return None


def _call_activities(files: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(file, element id, called process id) of every call activity in the files."""
    from lxml import etree

    found = []
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"))
        for node in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}callActivity"):
            found.append((name, node.get("id"), node.get("calledElement") or ""))
    return found


def _called_process_ids(files: Mapping[str, str]) -> set[str]:
    return {called for _name, _element, called in _call_activities(files)}
