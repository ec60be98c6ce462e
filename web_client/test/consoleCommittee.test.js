import test from 'node:test';
import assert from 'node:assert/strict';
import { correctionsOf, readRule } from '../src/console/committee.js';

test('the quorum rule form: a fraction like 1/2 (0 < f ≤ 1), seats 1-999 or empty', () => {
  assert.deepEqual(readRule({ fraction: ' 1/2 ', strict: true, chairCounts: false, seats: '' }),
    { rule: { fraction: '1/2', strict: true, chair_counts: false, seats: null, camera_during_vote: false } });
  assert.deepEqual(readRule({ fraction: '2/3', strict: false, chairCounts: true, seats: '12', cameraDuringVote: true }).rule,
    { fraction: '2/3', strict: false, chair_counts: true, seats: 12, camera_during_vote: true });
  for (const fraction of ['', '3/2', '0/2', 'half', '1/0', '1 / 2', '1/2/3']) {
    assert.equal(readRule({ fraction, seats: '' }).field, 'fraction', fraction);
  }
  for (const seats of ['0', '1000', '2.5', '-1', 'x']) {
    assert.equal(readRule({ fraction: '1/2', seats }).field, 'seats', seats);
  }
});

test('corrections come from the audit entries, newest first, refusals left out', () => {
  const names = new Map([['m:A', '委員A']]);
  const audit = [
    { at: 1, actor: 'jimu', actor_name: '事務局', actor_role: 'staff', action: 'committee.verify', reason: '電話で', details: { member: 'm:A', method: 'other' } },
    { at: 2, actor: 'p_1', actor_name: '委員長', actor_role: 'chair', action: 'committee.attendance', reason: 'forbidden', details: { refused: 'forbidden', member: 'm:A' } },
    { at: 3, actor: 'jimu', actor_name: '事務局', actor_role: 'staff', action: 'committee.attendance', reason: '遅れて到着', details: { member: 'm:A', status: 'late' } },
    { at: 4, actor: 'jimu', actor_name: '事務局', actor_role: 'staff', action: 'vote.open', reason: '', details: {} },
  ];
  const rows = correctionsOf(audit, names);
  assert.deepEqual(rows.map((r) => [r.at, r.action, r.member, r.by, r.reason]), [
    [3, 'committee.attendance', '委員A', '事務局', '遅れて到着'],
    [1, 'committee.verify', '委員A', '事務局', '電話で'],
  ]);
});
