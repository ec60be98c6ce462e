"""The ARKit -> VRM expression plan (Python side): both naming styles, presets only when
none of their sources is driven directly, blink vs blinkLeft/Right, clamping."""

from __future__ import annotations

import math

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

PRESETS = ("aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy",
           "angry", "sad", "relaxed", "surprised")  # fmt: skip


def test_table_is_the_design_notes() -> None:
    assert list(ARKIT_TO_PRESET) == [
        "aa", "ih", "ou", "ee", "oh", "blinkLeft", "blinkRight", "blink", "happy", "sad",
        "angry", "surprised",
    ]  # fmt: skip
    assert all(s in BLENDSHAPE_NAMES for sources in ARKIT_TO_PRESET.values() for s in sources)
    assert set(ARKIT_TO_PRESET) <= set(VRM1_PRESETS)
    assert set(V0_TO_V1_PRESET.values()) <= set(VRM1_PRESETS)
    assert "relaxed" not in ARKIT_TO_PRESET  # not driven from the face


@pytest.mark.parametrize("style", ["camel", "pascal"])
def test_perfect_sync_drives_every_shape_and_no_preset(style: str) -> None:
    names = [n if style == "camel" else pascal(n) for n in BLENDSHAPE_NAMES]
    plan = plan_expressions([*names, *PRESETS])
    assert plan.direct == {n: (n if style == "camel" else pascal(n)) for n in BLENDSHAPE_NAMES}
    assert plan.presets == {}  # every preset's sources are driven directly: no double


def test_camel_case_wins_when_a_model_has_both_spellings() -> None:
    assert plan_expressions(["jawOpen", "JawOpen"]).direct == {"jawOpen": "jawOpen"}


def test_presets_only_model() -> None:
    plan = plan_expressions(PRESETS)
    assert plan.direct == {}
    expected = {p: s for p, s in ARKIT_TO_PRESET.items() if p != "blink"}
    assert plan.presets == expected  # blinkLeft and blinkRight do the blinking


def test_blink_drives_when_a_side_is_missing() -> None:
    plan = plan_expressions(["blink", "blinkLeft"])
    assert plan.presets == {
        "blinkLeft": ("eyeBlinkLeft",),
        "blink": ("eyeBlinkLeft", "eyeBlinkRight"),
    }


def test_partial_perfect_sync_leaves_the_other_presets() -> None:
    plan = plan_expressions(["JawOpen", "MouthSmileLeft", "aa", "ih", "happy", "angry"])
    assert plan.direct == {"jawOpen": "JawOpen", "mouthSmileLeft": "MouthSmileLeft"}
    # aa (jawOpen) and happy (mouthSmileLeft is direct) would deform twice: left out.
    assert set(plan.presets) == {"ih", "angry"}


def test_unknown_names_are_ignored() -> None:
    plan = plan_expressions(["Fcl_ALL_Joy", "lookUp", "neutral", ""])
    assert plan.direct == {} and plan.presets == {}


def test_apply_means_and_clamps() -> None:
    plan = plan_expressions(["JawOpen", "happy", "blinkLeft", "sad"])
    weights = {
        "jawOpen": 1.7,
        "mouthSmileLeft": 0.2,
        "mouthSmileRight": 0.6,
        "eyeBlinkLeft": math.nan,
        "mouthFrownLeft": 3.0,
        "mouthFrownRight": -1.0,
    }
    out = apply(plan, weights)
    assert out["JawOpen"] == 1.0
    assert out["happy"] == pytest.approx(0.4)
    assert out["blinkLeft"] == 0.0  # NaN is nothing, not a spreading NaN
    assert out["sad"] == 0.5  # each source clamped before the mean (as the page does)
    assert set(out) == {"JawOpen", "happy", "blinkLeft", "sad"}
    assert all(0.0 <= v <= 1.0 for v in out.values())
