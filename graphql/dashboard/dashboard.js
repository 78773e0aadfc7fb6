// The nasnet dashboard: plain ES module, no build step and nothing fetched from outside the
// server (it must work on an offline machine). Data comes from /graphql; changes arrive over the
// events subscription (server-sent events) and trigger a refetch of what is shown.
// Every string from the API enters the DOM through textContent or setAttribute, never as markup.

import { cellSvg, svgElement } from './cell-svg.js';
import { formatReward as reward, policyUpdateColumns, policyUpdateRows } from './policy-table.js';
import { rewardChartModel } from './reward-chart.js';

const GRAPHQL = new URL('/graphql', location.href).href;
/** Coalesces a burst of events into one refetch; a long search emits many per second. */
const REFRESH_DELAY_MS = 300;
/** A slow refetch (a large experiment) waits twice its own time before the next, up to this. */
const MAX_REFRESH_DELAY_MS = 2000;
/** Least time between two audits of a running search (see runAudit). */
const AUDIT_INTERVAL_MS = 30_000;
/** How long after the last event the page refetches once more (see scheduleRefresh). */
const SETTLE_MS = 1500;
/** Events that change what the page shows; progress and claims do not. */
const REFRESHING_EVENTS = new Set([
  'ExperimentCreated',
  'ArchitectureSampled',
  'RewardReported',
  'PolicyUpdated',
  'ExperimentCompleted',
  'ExperimentStopped',
  'ExperimentResumed',
  'TrainingFailed',
]);

const EXPERIMENT_FIELDS = 'id status createdAt strategy trainer sampleCount completedCount failedCount bestReward policyVersion';
const CELL_FIELDS = 'blocks { inputA inputB opA opB combine } concat';

const LIST_QUERY = `query Experiments { headPosition experiments { ${EXPERIMENT_FIELDS} } }`;
const DETAIL_QUERY = `query Experiment($id: ID!) {
  experiment(id: $id) {
    ${EXPERIMENT_FIELDS}
    rewardCurve(maxPoints: 2000) { index sampleId reward source }
    bestCells(top: 3) { id index reward cellHash normal { ${CELL_FIELDS} } reduction { ${CELL_FIELDS} } }
    policyUpdates { version sampleIds meanReward baselineBefore baselineAfter loss approxKl clipFraction entropy paramsDigestAfter populationSize population(top: 1) { id reward } }
  }
}`;
const AUDIT_QUERY = `query Audit($id: ID!) {
  audit(experimentId: $id) { ok checkedUpdates firstDivergence { position eventType what expected found } }
}`;
// Every experiment's events, not only the selected one's: a search started elsewhere shows up in the list.
const EVENTS_SUBSCRIPTION =
  'subscription Events($types: [String!], $after: String) { events(types: $types, after: $after) { position type experimentId } }';

const state = {
  experiments: [],
  selected: new URL(location.href).searchParams.get('experiment'),
  detail: null,
  /** `<experiment>/<updates>/<status>` the shown (or running) audit covers, and the one the page shows now. */
  auditKey: null,
  auditWanted: null,
  auditRunning: false,
  /** When the last audit answered, and the timer of a deferred one. */
  auditAt: null,
  auditTimer: null,
  /** The log's head at the last load, and the newest event position seen: where a (re)subscription resumes. */
  head: null,
  position: null,
  source: null,
  reconnectDelayMs: 500,
  refreshTimer: null,
  settleTimer: null,
  /** Whether the pending refetch (and the pending settle refetch) must load the selected experiment too. */
  wantDetail: false,
  settleDetail: false,
  lastRefreshMs: 0,
  refreshing: null,
  refreshAgain: false,
};

const $ = (selector) => document.querySelector(selector);

function element(name, attributes = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'text') node.textContent = String(value);
    else node.setAttribute(key, String(value));
  }
  node.append(...children);
  return node;
}

async function graphql(query, variables = {}) {
  const response = await fetch(GRAPHQL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => null);
  if (!body) throw new Error(`GraphQL answered HTTP ${response.status}`);
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data;
}

// ---- formatting -----------------------------------------------------------------------------

/** Enum values (COMPLETED, REUSED) as the rest of nasnet writes them. */
const lower = (value) => String(value ?? '').toLowerCase();
const percent = (value) => (value === null || value === undefined ? '—' : `${(Number(value) * 100).toFixed(1)}%`);

// ---- the experiment list --------------------------------------------------------------------

function renderExperiments() {
  const list = $('#experiment-list');
  list.replaceChildren();
  if (state.experiments.length === 0) {
    list.append(element('li', { class: 'empty', text: 'No experiments in this store yet. Start one with: nasnet search' }));
    return;
  }
  for (const e of [...state.experiments].reverse()) {
    const link = element(
      'a',
      { href: `?experiment=${encodeURIComponent(e.id)}`, 'data-experiment-id': e.id },
      element('span', { class: 'experiment-id', text: e.id }),
      element('span', { class: `status status-${lower(e.status)}`, text: lower(e.status) }),
      element('span', {
        class: 'experiment-counts',
        text: `${e.strategy ?? '—'} · ${e.completedCount}/${e.sampleCount} samples · best ${percent(e.bestReward)}`,
      }),
    );
    if (e.id === state.selected) link.setAttribute('aria-current', 'true');
    link.addEventListener('click', (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      select(e.id, true);
    });
    list.append(element('li', {}, link));
  }
}

// ---- one experiment -------------------------------------------------------------------------

function renderHeader(e) {
  const header = $('#experiment-header');
  const facts = [
    ['status', lower(e.status)],
    ['strategy', e.strategy ?? '—'],
    ['trainer', e.trainer ?? '—'],
    ['samples', String(e.sampleCount)],
    ['rewarded', String(e.completedCount)],
    ['failed', String(e.failedCount)],
    ['best reward', reward(e.bestReward)],
    ['policy version', e.policyVersion === null ? '—' : `v${e.policyVersion}`],
  ];
  header.replaceChildren(
    element('h2', { text: `Experiment ${e.id}` }),
    // The strategy decides what the rest of the page means (e.g. no gradient statistics for evolution): shown next to the name.
    element('span', { class: 'strategy-badge', 'data-strategy': e.strategy ?? '', text: e.strategy ?? 'unknown strategy' }),
    element('p', { class: 'created', text: `created ${new Date(e.createdAt).toLocaleString()}` }),
    element(
      'dl',
      { class: 'facts' },
      ...facts.flatMap(([k, v]) => [element('dt', { text: k }), element('dd', { 'data-fact': k, text: v })]),
    ),
  );
}

function renderRewardCurve(e) {
  const model = rewardChartModel(e.rewardCurve, e.policyUpdates, e.sampleCount);
  const svg = svgElement('svg', {
    viewBox: `0 0 ${model.width} ${model.height}`,
    role: 'img',
    'aria-label': 'reward per sample, batch mean and baseline',
  });
  const plot = model.plot;
  svg.append(
    svgElement('rect', {
      class: 'plot-area',
      x: plot.left,
      y: plot.top,
      width: plot.right - plot.left,
      height: plot.bottom - plot.top,
    }),
  );

  const grid = svgElement('g', { class: 'axis axis-y' });
  for (const tick of model.yTicks) {
    grid.append(svgElement('line', { class: 'grid', x1: plot.left, x2: plot.right, y1: tick.y, y2: tick.y }));
    const label = svgElement('text', { x: plot.left - 6, y: tick.y, 'text-anchor': 'end', 'dominant-baseline': 'central' });
    label.textContent = tick.label;
    grid.append(label);
  }
  const yTitle = svgElement('text', {
    class: 'axis-title',
    transform: `translate(14 ${(plot.top + plot.bottom) / 2}) rotate(-90)`,
    'text-anchor': 'middle',
  });
  yTitle.textContent = 'reward';
  grid.append(yTitle);
  svg.append(grid);

  const xAxis = svgElement('g', { class: 'axis axis-x' });
  xAxis.append(svgElement('line', { class: 'axis-line', x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom }));
  for (const tick of model.xTicks) {
    xAxis.append(svgElement('line', { class: 'tick', x1: tick.x, x2: tick.x, y1: plot.bottom, y2: plot.bottom + 5 }));
    const label = svgElement('text', { x: tick.x, y: plot.bottom + 18, 'text-anchor': 'middle' });
    label.textContent = tick.label;
    xAxis.append(label);
  }
  const xTitle = svgElement('text', {
    class: 'axis-title',
    x: (plot.left + plot.right) / 2,
    y: model.height - 6,
    'text-anchor': 'middle',
  });
  xTitle.textContent = 'sample index';
  xAxis.append(xTitle);
  svg.append(xAxis);

  const dots = svgElement('g', { class: 'samples' });
  for (const dot of model.dots) {
    const circle = svgElement('circle', {
      class: `sample-dot source-${lower(dot.source)}`,
      cx: dot.x,
      cy: dot.y,
      r: 3,
      'data-index': dot.index,
    });
    const title = svgElement('title');
    title.textContent = `#${dot.index} ${dot.sampleId}: ${reward(dot.reward)} (${lower(dot.source)})`;
    circle.append(title);
    dots.append(circle);
  }
  svg.append(dots);
  if (model.baselinePath) svg.append(svgElement('path', { class: 'baseline-line', d: model.baselinePath }));
  if (model.meanPath) svg.append(svgElement('path', { class: 'mean-line', d: model.meanPath }));
  const means = svgElement('g', { class: 'means' });
  for (const point of model.meanPoints) {
    const circle = svgElement('circle', { class: 'mean-point', cx: point.x, cy: point.y, r: 3.5 });
    const title = svgElement('title');
    title.textContent = `policy v${point.version}: batch mean ${reward(point.meanReward)}, baseline after ${reward(point.baselineAfter)}`;
    circle.append(title);
    means.append(circle);
  }
  svg.append(means);

  const legend = element(
    'div',
    { class: 'legend' },
    element('span', { class: 'key key-sample', text: 'sample reward' }),
    element('span', { class: 'key key-reused', text: 'reused' }),
    element('span', { class: 'key key-failure', text: 'failed' }),
    element('span', { class: 'key key-mean', text: 'batch mean (per policy update)' }),
    element('span', { class: 'key key-baseline', text: 'baseline after update' }),
  );
  const figure = $('#reward-curve');
  figure.replaceChildren(element('h3', { text: 'Reward curve' }), svg, legend);
  figure.dataset.samples = String(model.dots.length);
}

function renderBestCells(e) {
  const section = $('#best-cells');
  const children = [element('h3', { text: 'Best cells' })];
  if (e.bestCells.length === 0) children.push(element('p', { class: 'empty', text: 'No rewarded sample yet.' }));
  e.bestCells.forEach((sample, rank) => {
    const pair = element('div', { class: 'cell-pair' });
    for (const name of ['normal', 'reduction']) {
      const cell = sample[name];
      pair.append(
        element(
          'figure',
          { class: 'cell-graph', 'data-cell': name },
          element('figcaption', { text: `${name} cell` }),
          cellSvg(cell.blocks, cell.concat, `${name} cell of ${sample.id}`),
        ),
      );
    }
    children.push(
      element(
        'article',
        { class: 'best-cell', 'data-sample-id': sample.id },
        element('h4', { text: `#${rank + 1} · ${sample.id} · reward ${reward(sample.reward)} · cell ${sample.cellHash}` }),
        pair,
      ),
    );
  });
  section.replaceChildren(...children);
}

function renderPolicyUpdates(e) {
  const table = element('table', { 'data-strategy': e.strategy ?? '' });
  table.append(
    element(
      'thead',
      {},
      element('tr', {}, ...policyUpdateColumns(e.strategy).map((h) => element('th', { scope: 'col', text: h }))),
    ),
  );
  const body = element('tbody');
  for (const row of policyUpdateRows(e.strategy, e.policyUpdates)) {
    const cells = row.cells.map((cell) => {
      const attributes = { text: cell.text };
      if (cell.className) attributes.class = cell.className;
      if (cell.title) attributes.title = cell.title;
      if (cell.sampleId) attributes['data-sample-id'] = cell.sampleId;
      return element('td', attributes);
    });
    body.append(element('tr', { 'data-version': row.version }, ...cells));
  }
  table.append(body);
  const wrapper = $('#policy-updates .table-scroll');
  wrapper.replaceChildren(e.policyUpdates.length > 0 ? table : element('p', { class: 'empty', text: 'No policy update yet.' }));
}

function renderAudit(report) {
  const status = $('#audit-status');
  if (report === null) {
    status.className = 'audit pending';
    status.textContent = 'auditing…';
    return;
  }
  if (report instanceof Error) {
    status.className = 'audit error';
    status.textContent = `audit unavailable: ${report.message}`;
    return;
  }
  if (report.ok) {
    status.className = 'audit passed';
    status.textContent = `audit passed: ${report.checkedUpdates} updates reproduced`;
    return;
  }
  const d = report.firstDivergence;
  status.className = 'audit failed';
  status.textContent = d
    ? `audit failed at position ${d.position} (${d.eventType}): ${d.what} — expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.found)}`
    : 'audit failed';
}

function showError(message) {
  const banner = $('#error');
  banner.hidden = message === null;
  banner.textContent = message ?? '';
}

// ---- data flow ------------------------------------------------------------------------------

/** The list always; the selected experiment when `withDetail` or when it is not on the page yet. */
async function load(withDetail) {
  const list = await graphql(LIST_QUERY);
  state.head = list.headPosition;
  state.experiments = list.experiments;
  if (state.selected === null && state.experiments.length > 0)
    state.selected = state.experiments[state.experiments.length - 1].id;
  renderExperiments();
  const main = $('#experiment');
  if (state.selected === null) {
    main.hidden = true;
    return;
  }
  if (!withDetail && state.detail?.id === state.selected) return;
  const { experiment } = await graphql(DETAIL_QUERY, { id: state.selected });
  if (!experiment) {
    main.hidden = true;
    throw new Error(`no experiment "${state.selected}" in this store`);
  }
  main.hidden = false;
  state.detail = experiment;
  renderHeader(experiment);
  renderRewardCurve(experiment);
  renderBestCells(experiment);
  renderPolicyUpdates(experiment);
  const running = ['running', 'created'].includes(lower(experiment.status));
  state.auditWanted = {
    id: experiment.id,
    key: `${experiment.id}/${experiment.policyUpdates.length}/${experiment.status}`,
    running,
  };
  runAudit();
  document.title = `nasnet · ${experiment.id}`;
}

/**
 * The audit replays the controller from the start, which costs the server CPU in proportion to
 * the experiment: it is asked again only when an update was added or the status changed, never
 * while one is in flight, and while the search runs at most every AUDIT_INTERVAL_MS.
 */
function runAudit() {
  const wanted = state.auditWanted;
  if (state.auditRunning || wanted === null || wanted.key === state.auditKey) return;
  const wait = wanted.running && state.auditAt !== null ? state.auditAt + AUDIT_INTERVAL_MS - Date.now() : 0;
  if (wait > 0) {
    clearTimeout(state.auditTimer);
    state.auditTimer = setTimeout(runAudit, wait);
    return;
  }
  const key = wanted.key;
  state.auditKey = key;
  state.auditRunning = true;
  graphql(AUDIT_QUERY, { id: wanted.id })
    .then(
      (data) => data.audit,
      (error) => error,
    )
    .then((report) => {
      state.auditRunning = false;
      state.auditAt = Date.now();
      if (state.auditKey === key) renderAudit(report);
      runAudit();
    });
}

/** One refetch at a time; events during it ask for one more afterwards, so the page always ends current. */
async function refresh(withDetail = true) {
  state.wantDetail ||= withDetail;
  if (state.refreshing) {
    state.refreshAgain = true;
    return state.refreshing;
  }
  state.refreshing = (async () => {
    do {
      state.refreshAgain = false;
      const detail = state.wantDetail;
      state.wantDetail = false;
      const started = performance.now();
      try {
        await load(detail);
        showError(null);
      } catch (error) {
        showError(`Could not load data: ${error.message}`);
      }
      state.lastRefreshMs = performance.now() - started;
    } while (state.refreshAgain);
  })();
  try {
    await state.refreshing;
  } finally {
    state.refreshing = null;
  }
}

/** `withDetail`: the event belongs to the selected experiment; others only change the list. */
function scheduleRefresh(withDetail) {
  state.wantDetail ||= withDetail;
  state.settleDetail ||= withDetail;
  // A throttle, not a restarting debounce: a search emits events steadily and the page must
  // still move. A large experiment takes longer to load, so it is refetched less often.
  if (state.refreshTimer === null) {
    state.refreshTimer = setTimeout(
      () => {
        state.refreshTimer = null;
        refresh(false);
      },
      Math.min(MAX_REFRESH_DELAY_MS, Math.max(REFRESH_DELAY_MS, 2 * state.lastRefreshMs)),
    );
  }
  // Events come from the log, the data from read models a projector writes a moment later:
  // one more refetch once the events have settled picks up rows that were not there yet.
  clearTimeout(state.settleTimer);
  state.settleTimer = setTimeout(() => {
    const detail = state.settleDetail;
    state.settleDetail = false;
    refresh(detail);
  }, SETTLE_MS);
}

const later = (a, b) => (a === null ? b : b === null ? a : BigInt(a) >= BigInt(b) ? a : b);

function subscribe() {
  state.source?.close();
  const url = new URL(GRAPHQL);
  url.searchParams.set('query', EVENTS_SUBSCRIPTION);
  // Resuming after the newest position seen (or the head at the last load) loses nothing
  // between the load and the subscription, or while the connection was down.
  url.searchParams.set('variables', JSON.stringify({ types: [...REFRESHING_EVENTS], after: later(state.position, state.head) }));
  const source = new EventSource(url);
  state.source = source;
  const live = $('#live-status');
  source.addEventListener('open', () => {
    state.reconnectDelayMs = 500;
    live.className = 'live on';
    live.textContent = 'live';
  });
  source.addEventListener('next', (message) => {
    let result;
    try {
      result = JSON.parse(message.data);
    } catch {
      return;
    }
    const event = result?.data?.events;
    if (!event) {
      if (result?.errors) showError(`Live updates failed: ${result.errors.map((e) => e.message).join('; ')}`);
      return;
    }
    state.position = later(state.position, event.position);
    if (REFRESHING_EVENTS.has(event.type)) scheduleRefresh(event.experimentId === state.selected);
  });
  // EventSource would reconnect with the same URL, replaying from the first position again:
  // reconnect by hand, from the newest position seen.
  const reconnect = () => {
    if (state.source !== source) return;
    source.close();
    live.className = 'live off';
    live.textContent = 'reconnecting…';
    setTimeout(() => state.source === source && subscribe(), state.reconnectDelayMs);
    state.reconnectDelayMs = Math.min(10_000, state.reconnectDelayMs * 2);
  };
  source.addEventListener('complete', reconnect);
  source.addEventListener('error', reconnect);
}

function select(id, push) {
  if (id === state.selected) return;
  state.selected = id;
  state.detail = null;
  state.auditKey = null;
  state.auditWanted = null;
  state.auditAt = null;
  if (push) {
    const url = new URL(location.href);
    url.searchParams.set('experiment', id);
    history.pushState({ experiment: id }, '', url);
  }
  renderAudit(null);
  refresh();
}

window.addEventListener('popstate', () => {
  const id = new URL(location.href).searchParams.get('experiment');
  if (id) select(id, false);
});

await refresh();
subscribe();
