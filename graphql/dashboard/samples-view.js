// The samples table's state (order, filter, page) and the trial drawer's metrics, without the
// DOM, so node's test runner can check them. The state lives in the address bar: a link
// reproduces the table, and the live refetch asks again for the page by its cursor.

export const SAMPLE_ORDERS = ['INDEX', 'REWARD_DESC', 'REWARD_ASC', 'COMPLETED_AT'];
export const SAMPLE_STATUSES = ['SAMPLED', 'CLAIMED', 'TRAINING', 'COMPLETED', 'FAILED', 'REUSED'];
export const PAGE_SIZE = 20;
/** Enough of a canonical hash to tell cells apart in a table; the full one is its title. */
export const SHORT_HASH = 10;

/** The first page by index, nothing filtered out. */
export const DEFAULT_SAMPLES_VIEW = Object.freeze({
  order: 'INDEX',
  statuses: Object.freeze([]),
  minReward: null,
  maxReward: null,
  policyVersion: null,
  cellHash: null,
  after: null,
  before: null,
});

/** The URL parameters of the view, other than the experiment's. */
const PARAMS = ['order', 'status', 'minReward', 'maxReward', 'policyVersion', 'cellHash', 'after', 'before'];

/** A number typed or linked; anything else (empty, `abc`) is no bound rather than an error. */
function number(text) {
  if (text === null || String(text).trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

const text = (value) => (value === null || value === undefined || String(value).trim() === '' ? null : String(value).trim());

/** Known statuses, upper-cased, each once, in the schema's order (so equal filters write equal URLs). */
export function normalizeStatuses(values) {
  const wanted = new Set(values.map((value) => String(value).trim().toUpperCase()));
  return SAMPLE_STATUSES.filter((status) => wanted.has(status));
}

/** The view a URL asks for: `status` comma-separated or repeated; a cursor only in one direction. */
export function samplesViewFromParams(params) {
  const order = params.get('order')?.toUpperCase();
  const after = text(params.get('after'));
  return {
    order: SAMPLE_ORDERS.includes(order) ? order : 'INDEX',
    statuses: normalizeStatuses(params.getAll('status').flatMap((value) => value.split(','))),
    minReward: number(params.get('minReward')),
    maxReward: number(params.get('maxReward')),
    policyVersion: number(params.get('policyVersion')),
    cellHash: text(params.get('cellHash')),
    after,
    before: after === null ? text(params.get('before')) : null,
  };
}

/** Writes the view into `params` (in place, other parameters kept), leaving out what is the default. */
export function samplesViewToParams(view, params = new URLSearchParams()) {
  for (const name of PARAMS) params.delete(name);
  if (view.order !== 'INDEX') params.set('order', view.order);
  if (view.statuses.length > 0) params.set('status', view.statuses.join(','));
  for (const name of ['minReward', 'maxReward', 'policyVersion', 'cellHash', 'after', 'before'])
    if (view[name] !== null) params.set(name, String(view[name]));
  return params;
}

/** The `SampleFilter` of a view, or null when it keeps every sample. */
export function sampleFilterInput(view) {
  const filter = {};
  if (view.statuses.length > 0) filter.status = [...view.statuses];
  for (const name of ['minReward', 'maxReward', 'policyVersion', 'cellHash']) if (view[name] !== null) filter[name] = view[name];
  return Object.keys(filter).length > 0 ? filter : null;
}

/** Variables of the samples query: the view's page by its cursor, so a refetch shows the same page. */
export function samplesVariables(experimentId, view) {
  const page = view.before !== null ? { last: PAGE_SIZE, before: view.before } : { first: PAGE_SIZE, after: view.after };
  return { id: experimentId, orderBy: view.order, filter: sampleFilterInput(view), ...page };
}

/** A new order or filter: the cursors belong to the old one, so it starts at the first page. */
export function withFilter(view, changes) {
  return { ...view, ...changes, after: null, before: null };
}

export function nextPageView(view, pageInfo) {
  return pageInfo.endCursor === null ? view : { ...view, after: pageInfo.endCursor, before: null };
}

export function previousPageView(view, pageInfo) {
  return pageInfo.startCursor === null ? view : { ...view, after: null, before: pageInfo.startCursor };
}

/**
 * Paging back onto the first page leaves a `before` cursor that would pin it: as the plain
 * first page it follows the head (a new best sample under REWARD_DESC) like a fresh load does.
 */
export function settledView(view, pageInfo) {
  return view.before !== null && !pageInfo.hasPreviousPage ? { ...view, before: null } : view;
}

export function sameView(a, b) {
  return samplesViewToParams(a).toString() === samplesViewToParams(b).toString();
}

export function shortHash(hash) {
  return String(hash).slice(0, SHORT_HASH);
}

// ---- the trial drawer -----------------------------------------------------------------------

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A metric as a trainer reported it: numbers to 4 significant digits, anything else as text. */
export function formatMetric(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return shown.length > 40 ? `${shown.slice(0, 40)}…` : shown;
}

/**
 * The per-epoch metrics of one attempt as a table: `epoch`, then one column per metric name
 * any epoch reported (first reported first; a trainer may add one later), rows by epoch.
 */
export function metricsTable(epochs) {
  const sorted = [...epochs].sort((a, b) => a.epoch - b.epoch);
  const names = [];
  for (const row of sorted)
    for (const name of Object.keys(isObject(row.metrics) ? row.metrics : {})) if (!names.includes(name)) names.push(name);
  const rows = sorted.map((row) => {
    const metrics = isObject(row.metrics) ? row.metrics : {};
    return { epoch: row.epoch, values: names.map((name) => metrics[name]) };
  });
  return { columns: ['epoch', ...names], names, rows };
}

/**
 * A sparkline path of the first metric with at least two numeric epochs, x by epoch and y
 * scaled to its own range (higher is up); null when no metric has two points to join.
 */
export function sparkline(table, width = 120, height = 24) {
  const pad = 2;
  for (const [column, name] of table.names.entries()) {
    const points = table.rows
      .map((row) => ({ epoch: row.epoch, value: row.values[column] }))
      .filter((point) => typeof point.value === 'number' && Number.isFinite(point.value));
    if (points.length < 2) continue;
    const values = points.map((point) => point.value);
    const [low, high] = [Math.min(...values), Math.max(...values)];
    const [first, last] = [points[0].epoch, points.at(-1).epoch];
    const x = (epoch) => pad + ((epoch - first) / (last - first || 1)) * (width - 2 * pad);
    // A flat series is drawn through the middle rather than divided by a zero range.
    const y = (value) => (high === low ? height / 2 : pad + ((high - value) / (high - low)) * (height - 2 * pad));
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.epoch).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
    return { name, d, low, high, width, height };
  }
  return null;
}
