"""The expression plan: which of a VRM model's expressions the 52 ARKit weights drive.

The page drives VRM avatars with the same pose stream as the procedural ones; this module
is the Python side of the plan (``web_client/src/state/vrmExpressions.js`` is the JS side,
and a test runs both on the same input). The plan, in order:

1. **Direct** (a "perfect sync" model): an ARKit shape ``n`` (MediaPipe's camelCase, as in
   :data:`avatar.pose.BLENDSHAPE_NAMES`) drives the model's expression named ``n``, or ``n``
   with its first letter upper-cased (``JawOpen``: the PascalCase of perfect-sync models).
   The camelCase name wins when a model has both.
2. **Presets**: each VRM 1.0 preset in :data:`ARKIT_TO_PRESET` is driven by the mean of its
   source shapes, only when the model has the preset AND none of its sources was matched
   directly (a perfect-sync model would otherwise deform twice). ``blink`` is driven only
   when the model lacks ``blinkLeft`` or ``blinkRight`` (else those two do it). ``relaxed``
   has no source in the face (nothing in a tracked face tells "relaxed" from neutral).
3. Gaze (``eyeLook*``) is not an expression here: the page turns it into the VRM look-at.

three-vrm names VRM 0.x presets by their 1.0 names (``a`` -> ``aa``, ``joy`` -> ``happy``,
``blink_l`` -> ``blinkLeft``...), so the plan takes 1.0 names only;
:data:`V0_TO_V1_PRESET` is that mapping, for the validator's report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from avatar.pose import BLENDSHAPE_NAMES

#: VRM 1.0 preset -> the ARKit shapes whose mean drives it, in the plan's order.
ARKIT_TO_PRESET: Mapping[str, tuple[str, ...]] = {
    "aa": ("jawOpen",),
    "ih": ("mouthUpperUpLeft", "mouthUpperUpRight"),
    "ou": ("mouthPucker",),
    "ee": ("mouthStretchLeft", "mouthStretchRight"),
    "oh": ("mouthFunnel",),
    "blinkLeft": ("eyeBlinkLeft",),
    "blinkRight": ("eyeBlinkRight",),
    "blink": ("eyeBlinkLeft", "eyeBlinkRight"),
    "happy": ("mouthSmileLeft", "mouthSmileRight"),
    "sad": ("mouthFrownLeft", "mouthFrownRight"),
    "angry": ("browDownLeft", "browDownRight"),
    "surprised": ("browOuterUpLeft", "browOuterUpRight"),
}

#: The VRM 1.0 expression presets (three-vrm's names; ``relaxed`` and the look-at ones are
#: presets the face does not drive).
VRM1_PRESETS: tuple[str, ...] = (
    "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry",
    "sad", "relaxed", "surprised", "lookUp", "lookDown", "lookLeft", "lookRight", "neutral",
)  # fmt: skip

#: VRM 0.x ``presetName`` -> the 1.0 name three-vrm gives the expression. A group whose
#: preset is ``unknown`` (or missing) is named by its ``name``.
V0_TO_V1_PRESET: Mapping[str, str] = {
    "a": "aa",
    "i": "ih",
    "u": "ou",
    "e": "ee",
    "o": "oh",
    "blink": "blink",
    "blink_l": "blinkLeft",
    "blink_r": "blinkRight",
    "joy": "happy",
    "angry": "angry",
    "sorrow": "sad",
    "fun": "relaxed",
    "lookup": "lookUp",
    "lookdown": "lookDown",
    "lookleft": "lookLeft",
    "lookright": "lookRight",
    "neutral": "neutral",
}


def pascal(name: str) -> str:
    """``jawOpen`` -> ``JawOpen``: the perfect-sync spelling of an ARKit name."""
    return name[:1].upper() + name[1:]


@dataclass(frozen=True, slots=True)
class ExpressionPlan:
    """What drives what, for one model (see the module docstring)."""

    #: ARKit name -> the model's expression it drives directly.
    direct: dict[str, str] = field(default_factory=dict)
    #: Model preset -> the ARKit shapes whose mean drives it.
    presets: dict[str, tuple[str, ...]] = field(default_factory=dict)


def plan_expressions(names: Iterable[str]) -> ExpressionPlan:
    """The plan for a model whose expressions are ``names`` (three-vrm's names)."""
    have = set(names)
    direct: dict[str, str] = {}
    for arkit in BLENDSHAPE_NAMES:
        if arkit in have:
            direct[arkit] = arkit
        elif pascal(arkit) in have:
            direct[arkit] = pascal(arkit)
    presets: dict[str, tuple[str, ...]] = {}
    for preset, sources in ARKIT_TO_PRESET.items():
        if preset not in have or any(s in direct for s in sources):
            continue
        if preset == "blink" and "blinkLeft" in have and "blinkRight" in have:
            continue
        presets[preset] = sources
    return ExpressionPlan(direct=direct, presets=presets)


def _clamp(value: float) -> float:
    # NaN compares false both ways: it becomes 0 rather than spreading into the page.
    if not value > 0.0:
        return 0.0
    return 1.0 if value > 1.0 else float(value)


def apply(plan: ExpressionPlan, weights: Mapping[str, float]) -> dict[str, float]:
    """Model expression -> weight (0..1) for ARKit ``weights`` (missing names count 0)."""
    out: dict[str, float] = {}
    for arkit, name in plan.direct.items():
        out[name] = _clamp(weights.get(arkit, 0.0))
    for preset, sources in plan.presets.items():
        total = sum(_clamp(weights.get(s, 0.0)) for s in sources)
        out[preset] = _clamp(total / len(sources))
    return out
