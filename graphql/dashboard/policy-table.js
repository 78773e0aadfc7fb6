// The policy-update table's columns and cells, without the DOM, so node's test runner can check
// them. Evolution has no gradient statistics; its rows show the population each update left
// instead (its size, best reward and best member).

/** A reward as the page writes it; "—" for none. */
export function formatReward(value) {
  return value === null || value === undefined ? '—' : Number(value).toFixed(4);
}

/** A statistic in four significant digits, or in exponent form when very small or large. */
export function formatStat(value) {
  if (value === null || value === undefined) return '—';
  const v = Number(value);
  if (v === 0) return '0';
  return Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toPrecision(4);
}

const COMMON_HEAD = ['version', 'samples', 'mean reward', 'baseline before → after'];
const GRADIENT_HEAD = ['loss', 'approx KL', 'clip fraction', 'entropy'];
const EVOLUTION_HEAD = ['population', 'population best', 'best member'];

/** What the table shows for a strategy: evolution's populations, or the gradient statistics (null for random search). */
export function policyUpdateColumns(strategy) {
  return [...COMMON_HEAD, ...(strategy === 'evolution' ? EVOLUTION_HEAD : GRADIENT_HEAD), 'digest after'];
}

/**
 * Rows newest first (while a search runs, the latest update is the one to look at), each
 * `{version, cells: [{text, title?, className?, sampleId?}]}` in the order of policyUpdateColumns.
 */
export function policyUpdateRows(strategy, updates) {
  return [...updates].reverse().map((u) => ({
    version: u.version,
    cells: [
      { text: `v${u.version}` },
      { text: String(u.sampleIds.length) },
      { text: formatReward(u.meanReward) },
      { text: `${formatReward(u.baselineBefore)} → ${formatReward(u.baselineAfter)}` },
      ...(strategy === 'evolution' ? evolutionCells(u) : gradientCells(u)),
      { text: u.paramsDigestAfter.slice(0, 12), title: u.paramsDigestAfter, className: 'digest' },
    ],
  }));
}

function gradientCells(u) {
  return [
    { text: formatStat(u.loss) },
    { text: formatStat(u.approxKl) },
    { text: formatStat(u.clipFraction) },
    { text: formatStat(u.entropy) },
  ];
}

function evolutionCells(u) {
  const best = u.population?.[0] ?? null;
  return [
    { text: u.populationSize === null || u.populationSize === undefined ? '—' : String(u.populationSize) },
    { text: formatReward(best?.reward) },
    best ? { text: best.id, className: 'sample-id', sampleId: best.id } : { text: '—' },
  ];
}
