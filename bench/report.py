"""How every benchmark prints its figures: one JSON object, or aligned ``key: value`` lines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def print_result(result: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    width = max((len(k) for k in result), default=0) + 2
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")
