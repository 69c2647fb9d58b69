"""Every user task of the shipped processes has its name and instructions in Vietnamese and in English, apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.spiff import compile_process, parse_files

BPMN = Path(__file__).resolve().parents[3] / "bpmn"


@pytest.mark.parametrize("process", ["field_report", "hotline_call"])
def test_user_tasks_have_english_names_and_one_language_per_instruction(process):
    files = {p.name: p.read_text(encoding="utf-8") for p in BPMN.glob("*.dmn")}
    files[f"{process}.bpmn"] = (BPMN / f"{process}.bpmn").read_text(encoding="utf-8")
    parser, problems = parse_files(files)
    assert problems == []
    compiled, problems = compile_process(parser, process, lambda _pid: f"{process}.bpmn")
    assert problems == [] and compiled.user_tasks
    for info in compiled.user_tasks.values():
        assert info.title_en and info.title_en != info.title, info.element_id
        # The callback told both languages in one text ("… — Call the reporter …"): now one each.
        assert " — " not in info.instructions and (bool(info.instructions) == bool(info.instructions_en)), info.element_id
    if process == "hotline_call":
        callback = compiled.user_tasks["callback"]
        assert callback.instructions.startswith("Gọi số điện thoại") and callback.instructions_en.startswith("Call the")
