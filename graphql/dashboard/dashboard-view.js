// Which experiment the page shows and what its audit line says, without the DOM, so node's
// test runner can check them.

/** An id from the address bar is shown at most this long: it can be anything, of any length. */
export const MAX_SHOWN_ID = 80;
/** The not-found page offers this many experiments to pick from (the list beside it has them all). */
export const MAX_CHOICES = 10;

/** Whether an experiment has anything to draw: a reward, or a failure's reward. */
export function hasRewards(experiment) {
  return experiment.completedCount + experiment.failedCount > 0 || experiment.bestReward !== null;
}

/**
 * The experiment shown without `?experiment=`: the newest one with rewards, since a search just
 * created (or one that never ran) has nothing to show; the newest of all when none has any.
 * `experiments` are oldest first, as the API lists them.
 */
export function defaultExperimentId(experiments) {
  const newest = experiments.at(-1);
  if (!newest) return null;
  return experiments.findLast(hasRewards)?.id ?? newest.id;
}

/**
 * What the page shows for a requested id: `none` (an empty store), `missing` (no such
 * experiment: nothing to load or audit) or `found`.
 */
export function resolveSelection(experiments, requested) {
  const id = requested || defaultExperimentId(experiments);
  if (id === null) return { kind: 'none', id: null };
  return { kind: experiments.some((e) => e.id === id) ? 'found' : 'missing', id };
}

/** An untrusted id cut to MAX_SHOWN_ID characters (whole code points), marked when cut. */
export function shortId(id, max = MAX_SHOWN_ID) {
  const chars = Array.from(String(id));
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : chars.join('');
}

export function notFoundMessage(id) {
  return `no such experiment: ${shortId(id)}`;
}

/** The experiments the not-found page offers, newest first. */
export function experimentChoices(experiments, max = MAX_CHOICES) {
  return [...experiments].reverse().slice(0, max);
}

/**
 * What an audit is asked for: a new key means a new audit is due. The status is part of it so
 * that a search's end is audited at once rather than after the running search's throttle.
 */
export function auditKey(experiment) {
  const e = experiment;
  return `${e.id}/${e.policyUpdates.length}/${e.sampleCount}/${e.status}`;
}

const plural = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * The audit line for a report (null while the first is awaited, an Error when it could not be
 * had) next to what the page shows: `shown` = { updates, samples }. A pass that covered fewer
 * updates or samples than are shown is stale: the page says how much it covered and that a new
 * audit is on its way, never an old pass as current. A failure stays a failure: the log only
 * grows, so the divergence it found is still there.
 */
export function auditView(report, shown) {
  if (report === null || report === undefined) return { className: 'audit pending', text: 'auditing…', stale: false };
  if (report instanceof Error) return { className: 'audit error', text: `audit unavailable: ${report.message}`, stale: false };
  if (!report.ok) return { className: 'audit failed', text: failureText(report.firstDivergence), stale: false };
  const updates = report.checkedUpdates;
  const samples = report.checkedSamples;
  if (updates >= shown.updates && samples >= shown.samples)
    return {
      className: 'audit passed',
      text: `audit passed: ${plural(updates, 'update')} and ${plural(samples, 'sample')} reproduced`,
      stale: false,
    };
  return {
    className: 'audit passed stale',
    text: `audit passed for ${updates} of ${plural(shown.updates, 'update')} and ${samples} of ${plural(shown.samples, 'sample')} — re-auditing…`,
    stale: true,
  };
}

function failureText(d) {
  return d
    ? `audit failed at position ${d.position} (${d.eventType}): ${d.what} — expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.found)}`
    : 'audit failed';
}
