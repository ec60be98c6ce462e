"""The page's VRM expression plan (web_client/src/state/vrmExpressions.js) against the
Python one (avatar/vrm_expressions.py): node runs the JavaScript on the same model-name
lists and weights (web_client/test/support/crosslang_vrm.mjs), and both must name the
same direct shapes, the same presets in the same order, and the same weights, so that a
rule changed on one side only fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import numpy as np
import pytest

from avatar.pose import BLENDSHAPE_NAMES
from avatar.vrm_expressions import (
    ARKIT_TO_PRESET,
    V0_TO_V1_PRESET,
    VRM1_PRESETS,
    apply,
    pascal,
    plan_expressions,
)
from tests.conftest import ROOT

SCRIPT = ROOT / "web_client" / "test" / "support" / "crosslang_vrm.mjs"


def name_lists() -> list[list[str]]:
    """Models as three-vrm names them: perfect sync in both spellings, presets only (1.0,
    and 0.x mapped as three-vrm maps them), one-eyed blinks, mixtures, random subsets."""
    rng = np.random.default_rng(18)
    arkit = list(BLENDSHAPE_NAMES)
    presets = list(VRM1_PRESETS)
    lists = [
        [],
        [pascal(n) for n in arkit] + presets,
        arkit + presets,
        presets,
        [*sorted(set(V0_TO_V1_PRESET.values())), "surprised"],
        ["blink"],
        ["blink", "blinkLeft"],
        ["blinkLeft", "blinkRight"],
        ["JawOpen", "jawOpen", "aa", "MouthSmileLeft", "happy", "ou"],
        ["EyeBlinkLeft", "blink", "blinkRight", "Jawopen", "JAWOPEN", "relaxed", "lookUp"],
    ]
    pool = arkit + [pascal(n) for n in arkit] + presets + ["Custom", "a", "joy"]
    for _ in range(30):
        k = int(rng.integers(1, 40))
        lists.append([str(x) for x in rng.choice(pool, size=k, replace=False)])
    return lists


def weight_rows() -> list[list[float]]:
    rng = np.random.default_rng(7)
    rows = [rng.uniform(0, 1, len(BLENDSHAPE_NAMES)).tolist() for _ in range(3)]
    rows.append(rng.uniform(-0.5, 1.6, len(BLENDSHAPE_NAMES)).tolist())  # out of range
    rows.append([0.0] * len(BLENDSHAPE_NAMES))
    return rows


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    return [{"names": names, "weights": w} for names in name_lists() for w in weight_rows()]


@pytest.fixture(scope="module")
def report(cases: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed for the web client's tests (make setup)"
    fixture = tmp_path_factory.mktemp("vrm") / "cases.json"
    fixture.write_text(json.dumps({"cases": cases}))
    out = subprocess.run([node, str(SCRIPT), str(fixture)], capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_the_preset_table_is_the_same(report: dict[str, Any]) -> None:
    assert [(p, tuple(s)) for p, s in report["presets"]] == list(ARKIT_TO_PRESET.items())


def test_the_page_plans_as_python_does(cases: list[dict[str, Any]], report: dict[str, Any]) -> None:
    assert len(report["results"]) == len(cases)
    for case, js in zip(cases, report["results"], strict=True):
        plan = plan_expressions(case["names"])
        assert [tuple(x) for x in js["direct"]] == list(plan.direct.items()), case["names"]
        presets = [(p, tuple(s)) for p, s in js["presets"]]
        assert presets == list(plan.presets.items()), case["names"]


def test_the_page_applies_the_weights_as_python_does(
    cases: list[dict[str, Any]], report: dict[str, Any]
) -> None:
    for case, js in zip(cases, report["results"], strict=True):
        weights = dict(zip(BLENDSHAPE_NAMES, case["weights"], strict=True))
        want = apply(plan_expressions(case["names"]), weights)
        got = js["applied"]
        assert list(got) == list(want), case["names"]
        for name, value in want.items():
            assert got[name] == pytest.approx(value, abs=1e-9), (case["names"], name)


def test_the_cases_cover_both_styles_and_the_fallback(cases: list[dict[str, Any]]) -> None:
    plans = [plan_expressions(c["names"]) for c in cases]
    assert any(len(p.direct) == 52 and not p.presets for p in plans)  # perfect sync
    assert any(not p.direct and "aa" in p.presets for p in plans)  # presets only
    assert any(p.direct and p.presets for p in plans)  # a mixture
    assert any("blink" in p.presets for p in plans)
