import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  auditKey,
  auditView,
  defaultExperimentId,
  experimentChoices,
  hasRewards,
  MAX_CHOICES,
  MAX_SHOWN_ID,
  notFoundMessage,
  resolveSelection,
  shortId,
  type AuditReportInput,
  type ExperimentSummary,
} from '../../graphql/dashboard/dashboard-view.js';

/** An experiment as the list query returns it, with nothing rewarded unless told. */
const experiment = (id: string, rewards: Partial<ExperimentSummary> = {}): ExperimentSummary => ({
  id,
  completedCount: 0,
  failedCount: 0,
  bestReward: null,
  ...rewards,
});

const passed = (checkedUpdates: number, checkedSamples: number): AuditReportInput => ({
  ok: true,
  checkedUpdates,
  checkedSamples,
  firstDivergence: null,
});

describe('the dashboard: which experiment it shows', () => {
  it('counts a completed or a failed sample, or a best reward, as rewards', () => {
    assert.equal(hasRewards(experiment('a')), false);
    assert.equal(hasRewards(experiment('a', { completedCount: 1 })), true);
    assert.equal(hasRewards(experiment('a', { failedCount: 1 })), true, 'a failure is a reward too (the failure reward)');
    assert.equal(hasRewards(experiment('a', { bestReward: 0 })), true, 'a best reward of 0 is a reward');
  });

  it('defaults to the newest experiment with rewards, not a newer empty one', () => {
    const list = [experiment('old', { completedCount: 3 }), experiment('rewarded', { bestReward: 0.4 }), experiment('empty')];
    assert.equal(defaultExperimentId(list), 'rewarded');
    assert.equal(defaultExperimentId([...list, experiment('newest', { failedCount: 1 })]), 'newest');
  });

  it('falls back to the newest experiment when none has rewards, and to none in an empty store', () => {
    assert.equal(defaultExperimentId([experiment('a'), experiment('b')]), 'b');
    assert.equal(defaultExperimentId([]), null);
  });

  it('resolves a requested id to found or missing, and no request to the default', () => {
    const list = [experiment('dash', { completedCount: 2 }), experiment('empty')];
    assert.deepEqual(resolveSelection(list, 'empty'), { kind: 'found', id: 'empty' });
    assert.deepEqual(resolveSelection(list, 'nope'), { kind: 'missing', id: 'nope' });
    assert.deepEqual(resolveSelection(list, null), { kind: 'found', id: 'dash' });
    assert.deepEqual(resolveSelection(list, ''), { kind: 'found', id: 'dash' }, 'an empty ?experiment= is no request');
    assert.deepEqual(resolveSelection([], null), { kind: 'none', id: null });
    assert.deepEqual(resolveSelection([], 'dash'), { kind: 'missing', id: 'dash' });
  });

  it('cuts an unknown id to a sane length, by whole characters, and says it is not there', () => {
    assert.equal(shortId('dash'), 'dash');
    assert.equal(shortId('x'.repeat(MAX_SHOWN_ID)), 'x'.repeat(MAX_SHOWN_ID));
    assert.equal(shortId('x'.repeat(MAX_SHOWN_ID + 1)), `${'x'.repeat(MAX_SHOWN_ID)}…`);
    assert.equal(shortId('😀'.repeat(5), 3), '😀😀😀…', 'no half of a surrogate pair');
    assert.equal(notFoundMessage('<b>nope</b>'), 'no such experiment: <b>nope</b>', 'text, escaped by the DOM');
  });

  it('offers the newest experiments first, at most MAX_CHOICES', () => {
    const list = Array.from({ length: MAX_CHOICES + 5 }, (_, i) => experiment(`e${i}`));
    const choices = experimentChoices(list);
    assert.equal(choices.length, MAX_CHOICES);
    assert.equal(choices[0]!.id, `e${MAX_CHOICES + 4}`);
    assert.deepEqual(
      experimentChoices([experiment('a'), experiment('b')]).map((e) => e.id),
      ['b', 'a'],
    );
  });
});

describe('the dashboard: the audit line', () => {
  it('is pending before the first answer, and says why when there is none', () => {
    assert.deepEqual(auditView(null, { updates: 3, samples: 18 }), {
      className: 'audit pending',
      text: 'auditing…',
      stale: false,
    });
    assert.deepEqual(auditView(new Error('worker gone'), { updates: 3, samples: 18 }), {
      className: 'audit error',
      text: 'audit unavailable: worker gone',
      stale: false,
    });
  });

  it('says how many updates and samples a current pass reproduced', () => {
    assert.deepEqual(auditView(passed(3, 18), { updates: 3, samples: 18 }), {
      className: 'audit passed',
      text: 'audit passed: 3 updates and 18 samples reproduced',
      stale: false,
    });
    assert.equal(auditView(passed(1, 1), { updates: 1, samples: 1 }).text, 'audit passed: 1 update and 1 sample reproduced');
    // The audit reads the log, the page the read models a moment behind it: covering more is current.
    assert.equal(auditView(passed(4, 24), { updates: 3, samples: 18 }).stale, false);
  });

  it('marks a pass that covered fewer updates than the table shows as stale, never as current', () => {
    const view = auditView(passed(2, 18), { updates: 3, samples: 18 });
    assert.equal(view.stale, true);
    assert.equal(view.className, 'audit passed stale');
    assert.equal(view.text, 'audit passed for 2 of 3 updates and 18 of 18 samples — re-auditing…');
    // The finding: a first audit of a search that had just started, next to three updates.
    assert.equal(auditView(passed(0, 0), { updates: 3, samples: 18 }).text.startsWith('audit passed for 0 of 3 updates'), true);
  });

  it('marks a pass as stale when samples were drawn after it, even with no new update', () => {
    const view = auditView(passed(3, 18), { updates: 3, samples: 20 });
    assert.equal(view.stale, true);
    assert.equal(view.text, 'audit passed for 3 of 3 updates and 18 of 20 samples — re-auditing…');
  });

  it('keeps a failure a failure, however much the log has grown since', () => {
    const report: AuditReportInput = {
      ok: false,
      checkedUpdates: 0,
      checkedSamples: 6,
      firstDivergence: { position: '42', eventType: 'PolicyUpdated', what: 'reward of s-1', expected: 0.75, found: 0.5 },
    };
    assert.deepEqual(auditView(report, { updates: 5, samples: 30 }), {
      className: 'audit failed',
      text: 'audit failed at position 42 (PolicyUpdated): reward of s-1 — expected 0.75, found 0.5',
      stale: false,
    });
    assert.equal(auditView({ ...report, firstDivergence: null }, { updates: 5, samples: 30 }).text, 'audit failed');
  });

  it('asks for a new audit when an update, a sample or the status changes, and only then', () => {
    const e = { id: 'dash', status: 'RUNNING', sampleCount: 12, policyUpdates: [{}, {}] };
    const key = auditKey(e);
    assert.equal(auditKey({ ...e }), key);
    assert.notEqual(auditKey({ ...e, policyUpdates: [{}, {}, {}] }), key);
    assert.notEqual(auditKey({ ...e, sampleCount: 13 }), key);
    assert.notEqual(auditKey({ ...e, status: 'COMPLETED' }), key);
    assert.notEqual(auditKey({ ...e, id: 'other' }), key);
  });
});
