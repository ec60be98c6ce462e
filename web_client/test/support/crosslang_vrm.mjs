/**
 * Cross-language check of the VRM expression plan (run by
 * tests/integration/test_vrm_expression_catalogue.py): reads a fixture Python wrote
 * ({cases: [{names, weights}]}, weights in BLENDSHAPE_NAMES order), runs each through
 * state/vrmExpressions.js and prints {presets: ARKIT_TO_PRESET, results: [{direct, presets,
 * applied}]} as JSON. Without an argument (when `node --test` walks this folder) it does
 * nothing.
 */
import { readFileSync } from 'node:fs';
import { ARKIT_TO_PRESET, applyPlan, planExpressions } from '../../src/state/vrmExpressions.js';

const path = process.argv[2];
if (path) {
  const fixture = JSON.parse(readFileSync(path, 'utf8'));
  const results = fixture.cases.map(({ names, weights }) => {
    const plan = planExpressions(names);
    // key order matters: Python compares the presets' order too
    return { direct: Object.entries(plan.direct), presets: Object.entries(plan.presets), applied: applyPlan(plan, Float64Array.from(weights)) };
  });
  process.stdout.write(JSON.stringify({ presets: Object.entries(ARKIT_TO_PRESET), results }));
}
