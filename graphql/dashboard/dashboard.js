// The nasnet dashboard: plain ES module, no build step and nothing fetched from outside the
// server (it must work on an offline machine). Data comes from /graphql; changes arrive over the
// events subscription (server-sent events) and trigger a refetch of what is shown.
// Every string from the API enters the DOM through textContent or setAttribute, never as markup.

import { cellSvg, svgElement } from './cell-svg.js';
import { auditKey, auditView, experimentChoices, notFoundMessage, resolveSelection } from './dashboard-view.js';
import { formatReward as reward, policyUpdateColumns, policyUpdateRows } from './policy-table.js';
import { rewardChartModel } from './reward-chart.js';
import {
  DEFAULT_SAMPLES_VIEW,
  formatMetric,
  metricsTable,
  nextPageView,
  previousPageView,
  SAMPLE_STATUSES,
  sameView,
  samplesVariables,
  samplesViewFromParams,
  samplesViewToParams,
  settledView,
  shortHash,
  sparkline,
  withFilter,
} from './samples-view.js';

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
  audit(experimentId: $id) { ok checkedSamples checkedUpdates firstDivergence { position eventType what expected found } }
}`;
const SAMPLES_QUERY = `query Samples($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $orderBy: SampleOrder, $filter: SampleFilter) {
  experiment(id: $id) {
    id
    samples(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter) {
      edges { node { id index status reward rewardSource policyVersion cellHash finishedAt } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}`;
const SAMPLE_QUERY = `query Sample($id: ID!) {
  sample(id: $id) {
    id index status reward rewardSource reused reusedFrom policyVersion cellHash sampledAt finishedAt
    normal { text }
    reduction { text }
    trials {
      id attempt worker plugin backend status error retryable seconds claimedAt finishedAt lastEpoch epochs
      metrics { epoch epochs metrics at }
      events { type position metadata { timestamp writerId } }
    }
  }
}`;
// Every experiment's events, not only the selected one's: a search started elsewhere shows up in the list.
const EVENTS_SUBSCRIPTION =
  'subscription Events($types: [String!], $after: String) { events(types: $types, after: $after) { position type experimentId } }';

const state = {
  experiments: [],
  /** The experiment asked for (`?experiment=`), or once the list is loaded the default one; null for none. */
  selected: new URL(location.href).searchParams.get('experiment') || null,
  detail: null,
  /** The key (see auditKey) of the shown (or running) audit, and the one the page shows now. */
  auditKey: null,
  auditWanted: null,
  auditRunning: false,
  /** The last audit of the selected experiment: a report, an Error, or null while none has answered. */
  auditReport: null,
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
  samples: {
    /** Order, filter and page (see samples-view.js), read from and written to the address bar. */
    view: samplesViewFromParams(new URL(location.href).searchParams),
    /** The shown page's connection (its pageInfo drives the pager), and what the table was drawn from. */
    connection: null,
    drawnKey: null,
    /** Each request's number: an answer older than the newest request is dropped. */
    seq: 0,
  },
  drawer: {
    /** The sample the drawer shows; null while it is closed. */
    sampleId: null,
    drawnKey: null,
    seq: 0,
    /** What had the focus before it opened, given back when it closes. */
    opener: null,
  },
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
    const link = experimentLink(e);
    if (e.id === state.selected) link.setAttribute('aria-current', 'true');
    list.append(element('li', {}, link));
  }
}

/** A link to one experiment that switches the page in place (a modified click still opens a new tab). */
function experimentLink(e) {
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
  link.addEventListener('click', (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    select(e.id, true);
  });
  return link;
}

/** An id nothing in the store has (a typo, an old link): said plainly, with experiments to pick instead. */
function renderNotFound(id) {
  const section = $('#not-found');
  section.hidden = id === null;
  if (id === null) return;
  const choices = experimentChoices(state.experiments);
  section.replaceChildren(
    element('h2', { class: 'not-found-message', text: notFoundMessage(id) }),
    choices.length === 0
      ? element('p', { class: 'empty', text: 'No experiments in this store yet. Start one with: nasnet search' })
      : element('p', { text: 'Pick one of the experiments in this store:' }),
    element('ul', { class: 'experiment-choices' }, ...choices.map((e) => element('li', {}, experimentLink(e)))),
  );
  document.title = 'nasnet · no such experiment';
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
    const card = element(
      'article',
      { class: 'best-cell', 'data-sample-id': sample.id, tabindex: 0, title: 'show its training' },
      element('h4', { text: `#${rank + 1} · ${sample.id} · reward ${reward(sample.reward)} · cell ${sample.cellHash}` }),
      pair,
    );
    card.addEventListener('click', () => openDrawer(sample.id, card));
    card.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && event.target === card) openDrawer(sample.id, card);
    });
    children.push(card);
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

/** The last audit against what the page shows now: drawn again with every refetch, so a pass never outlives its coverage. */
function renderAudit() {
  const e = state.detail;
  const view = auditView(state.auditReport, { updates: e?.policyUpdates.length ?? 0, samples: e?.sampleCount ?? 0 });
  const status = $('#audit-status');
  status.className = view.className;
  status.textContent = view.text;
}

function showError(message) {
  const banner = $('#error');
  banner.hidden = message === null;
  banner.textContent = message ?? '';
}

// ---- the samples table ----------------------------------------------------------------------

const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const seconds = (value) => (value === null || value === undefined ? '—' : `${Number(value).toFixed(2)} s`);

/** The status checkboxes, from the schema's list, so a new status needs no change here. */
function buildStatusFilter() {
  const fieldset = $('#sample-filters .status-filter');
  for (const status of SAMPLE_STATUSES) {
    const box = element('input', { type: 'checkbox', name: 'status', value: status });
    fieldset.append(element('label', {}, box, ` ${lower(status)}`));
  }
}

/** The controls show the view (a loaded link, a clicked cell hash, a page back in history). */
function fillControls(view) {
  const form = $('#sample-filters');
  form.elements.order.value = view.order;
  for (const box of form.querySelectorAll('input[name="status"]')) box.checked = view.statuses.includes(box.value);
  for (const name of ['minReward', 'maxReward', 'policyVersion', 'cellHash']) form.elements[name].value = view[name] ?? '';
}

/** The view the controls ask for; the page is kept unless the order or the filter changed. */
function applyControls() {
  const wanted = samplesViewFromParams(new URLSearchParams(new FormData($('#sample-filters'))));
  if (sameView(wanted, withFilter(state.samples.view, {}))) return;
  showSamplesView(wanted);
}

/** The address bar holds the view, so a link (or a reload) shows this table again. */
function writeSamplesUrl() {
  const params = new URLSearchParams();
  if (state.selected) params.set('experiment', state.selected);
  samplesViewToParams(state.samples.view, params);
  const url = new URL(location.href);
  url.search = params.toString();
  if (url.href !== location.href) history.replaceState(history.state, '', url);
}

function showSamplesView(view) {
  state.samples.view = view;
  fillControls(view);
  writeSamplesUrl();
  // No second click on a page that is being replaced: its cursors are about to be stale.
  $('#samples-previous').disabled = true;
  $('#samples-next').disabled = true;
  loadSamples();
}

/** Fetches the view's page by its cursor: a live refetch shows the page the user is on, updated. */
async function loadSamples() {
  const id = state.selected;
  const view = state.samples.view;
  if (id === null) return;
  const seq = ++state.samples.seq;
  let answer;
  try {
    const data = await graphql(SAMPLES_QUERY, samplesVariables(id, view));
    answer = { connection: data.experiment?.samples ?? null, error: null };
  } catch (error) {
    answer = { connection: null, error: error.message };
  }
  if (seq !== state.samples.seq || id !== state.selected) return;
  if (answer.connection) {
    const settled = settledView(view, answer.connection.pageInfo);
    if (settled !== view) {
      state.samples.view = settled;
      writeSamplesUrl();
    }
  }
  renderSamples(answer);
}

/** A bad filter shows the server's message (it names the field) instead of the table, never an empty table. */
function renderSamples({ connection, error }) {
  state.samples.connection = connection;
  const key = JSON.stringify({ connection, error });
  const errorLine = $('#samples-error');
  errorLine.hidden = error === null;
  errorLine.textContent = error ?? '';
  for (const input of $('#sample-filters').querySelectorAll('input[type="number"], input[type="text"]')) {
    if (error?.includes(`filter.${input.name}`)) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  const pageInfo = connection?.pageInfo;
  $('#samples-previous').disabled = !pageInfo?.hasPreviousPage;
  $('#samples-next').disabled = !pageInfo?.hasNextPage;
  $('#samples .pager').hidden = !connection;
  // Redrawn only when the answer changed, so a live refetch keeps the focus on a row.
  if (key === state.samples.drawnKey) return;
  state.samples.drawnKey = key;
  const holder = $('#samples .samples-table');
  if (!connection) return holder.replaceChildren();
  if (connection.edges.length === 0)
    return holder.replaceChildren(element('p', { class: 'empty', text: 'No sample matches this filter.' }));
  const head = ['index', 'status', 'reward', 'policy', 'cell hash', 'finished'];
  const th = (h) => element('th', { scope: 'col', text: h, class: h === 'reward' ? 'reward' : '' });
  holder.replaceChildren(
    element(
      'table',
      {},
      element('thead', {}, element('tr', {}, ...head.map(th))),
      element('tbody', {}, ...connection.edges.map(({ node }) => sampleRow(node))),
    ),
  );
  markOpenSample();
}

function sampleRow(sample) {
  const hash = element('button', {
    type: 'button',
    class: 'cell-hash',
    'data-cell-hash': sample.cellHash,
    title: `${sample.cellHash}: show every sample of this cell`,
    text: shortHash(sample.cellHash),
  });
  hash.addEventListener('click', (event) => {
    // Filtering by the cell is this button's job; the row's click opens the drawer.
    event.stopPropagation();
    showSamplesView(withFilter(state.samples.view, { cellHash: sample.cellHash }));
  });
  const row = element(
    'tr',
    { class: 'sample-row', tabindex: 0, 'data-sample-id': sample.id, 'data-index': sample.index },
    element('td', { text: `#${sample.index}` }),
    element('td', {}, element('span', { class: `status status-${lower(sample.status)}`, text: lower(sample.status) })),
    element('td', {
      class: 'reward',
      text: reward(sample.reward),
      title: sample.rewardSource ? lower(sample.rewardSource) : 'no reward yet',
    }),
    element('td', { text: `v${sample.policyVersion}` }),
    element('td', {}, hash),
    element('td', { class: 'time', text: time(sample.finishedAt) }),
  );
  row.addEventListener('click', () => openDrawer(sample.id, row));
  row.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target === row) openDrawer(sample.id, row);
  });
  return row;
}

function markOpenSample() {
  for (const row of document.querySelectorAll('#samples tr.sample-row')) {
    if (row.dataset.sampleId === state.drawer.sampleId) row.setAttribute('aria-current', 'true');
    else row.removeAttribute('aria-current');
  }
}

function setUpSampleControls() {
  buildStatusFilter();
  fillControls(state.samples.view);
  const form = $('#sample-filters');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    applyControls();
  });
  form.addEventListener('change', applyControls);
  $('#clear-filters').addEventListener('click', () =>
    showSamplesView(withFilter(DEFAULT_SAMPLES_VIEW, { order: state.samples.view.order })),
  );
  $('#samples-next').addEventListener('click', () => {
    const pageInfo = state.samples.connection?.pageInfo;
    if (pageInfo?.hasNextPage) showSamplesView(nextPageView(state.samples.view, pageInfo));
  });
  $('#samples-previous').addEventListener('click', () => {
    const pageInfo = state.samples.connection?.pageInfo;
    if (pageInfo?.hasPreviousPage) showSamplesView(previousPageView(state.samples.view, pageInfo));
  });
}

// ---- the trial drawer -----------------------------------------------------------------------

function openDrawer(sampleId, opener) {
  const drawer = $('#sample-drawer');
  if (state.drawer.sampleId === null) state.drawer.opener = opener ?? document.activeElement;
  state.drawer.sampleId = sampleId;
  state.drawer.drawnKey = null;
  drawer.hidden = false;
  $('#drawer-title').textContent = `Sample ${sampleId}`;
  $('#sample-drawer .drawer-body').replaceChildren(element('p', { class: 'empty', text: 'loading…' }));
  drawer.querySelector('.drawer-close').focus();
  markOpenSample();
  loadDrawer();
}

function closeDrawer() {
  if (state.drawer.sampleId === null) return;
  state.drawer.sampleId = null;
  state.drawer.seq++;
  $('#sample-drawer').hidden = true;
  markOpenSample();
  if (state.drawer.opener?.isConnected) state.drawer.opener.focus();
  state.drawer.opener = null;
}

async function loadDrawer() {
  const id = state.drawer.sampleId;
  if (id === null) return;
  const seq = ++state.drawer.seq;
  let answer;
  try {
    answer = { sample: (await graphql(SAMPLE_QUERY, { id })).sample, error: null };
  } catch (error) {
    answer = { sample: null, error: error.message };
  }
  if (seq === state.drawer.seq && id === state.drawer.sampleId) renderDrawer(id, answer);
}

/** Redrawn only when the sample changed, so a live refetch leaves the event lists as the user opened them. */
function renderDrawer(id, { sample, error }) {
  const key = JSON.stringify({ sample, error });
  if (key === state.drawer.drawnKey) return;
  state.drawer.drawnKey = key;
  const body = $('#sample-drawer .drawer-body');
  const open = new Set([...body.querySelectorAll('details[open]')].map((details) => details.dataset.attempt));
  if (error !== null) return body.replaceChildren(element('p', { class: 'drawer-error', text: error }));
  if (!sample) return body.replaceChildren(element('p', { class: 'empty', text: `no such sample: ${id}` }));
  $('#drawer-title').textContent = `Sample #${sample.index} · ${sample.id}`;
  const facts = [
    ['status', lower(sample.status)],
    ['reward', reward(sample.reward)],
    ['source', sample.rewardSource ? lower(sample.rewardSource) : '—'],
    ['policy version', `v${sample.policyVersion}`],
    ['cell hash', sample.cellHash],
    ['sampled', time(sample.sampledAt)],
    ['finished', time(sample.finishedAt)],
  ];
  if (sample.reusedFrom) facts.push(['reused from', sample.reusedFrom]);
  body.replaceChildren(
    factList(facts),
    element('h4', { text: 'Normal cell' }),
    element('pre', { class: 'cell-text', 'data-cell': 'normal', text: sample.normal.text }),
    element('h4', { text: 'Reduction cell' }),
    element('pre', { class: 'cell-text', 'data-cell': 'reduction', text: sample.reduction.text }),
    element('h4', { text: `Training attempts (${sample.trials.length})` }),
    ...(sample.trials.length > 0
      ? sample.trials.map((trial) => attemptSection(trial, open.has(String(trial.attempt))))
      : [element('p', { class: 'empty', text: sample.reused ? 'Not trained: its reward was reused.' : 'Not trained yet.' })]),
  );
}

function factList(facts) {
  return element(
    'dl',
    { class: 'drawer-facts' },
    ...facts.flatMap(([k, v]) => [element('dt', { text: k }), element('dd', { 'data-fact': k, text: v })]),
  );
}

function attemptSection(trial, eventsOpen) {
  const facts = [
    ['worker', trial.worker ?? '—'],
    ['status', lower(trial.status)],
    ['claimed', time(trial.claimedAt)],
    ['finished', time(trial.finishedAt)],
    ['seconds', seconds(trial.seconds)],
    ['epochs', `${trial.lastEpoch ?? 0} of ${trial.epochs ?? '?'}`],
  ];
  if (trial.plugin) facts.push(['trainer', trial.backend ? `${trial.plugin} (${trial.backend})` : trial.plugin]);
  const section = element(
    'section',
    { class: 'attempt', 'data-attempt': trial.attempt },
    element('h5', { text: `Attempt ${trial.attempt}` }),
    factList(facts),
  );
  if (trial.error) {
    const retry = trial.retryable === null ? '' : trial.retryable ? ' (retryable)' : ' (not retryable)';
    section.append(element('p', { class: 'attempt-error', text: `${trial.error}${retry}` }));
  }
  section.append(metricsFigure(trial.metrics), eventList(trial, eventsOpen));
  return section;
}

/** Per-epoch metrics as a table, one column per metric any epoch reported, and a sparkline of the first. */
function metricsFigure(epochs) {
  if (epochs.length === 0) return element('p', { class: 'empty', text: 'No epoch reported.' });
  const model = metricsTable(epochs);
  const table = element(
    'table',
    { class: 'metrics' },
    element('thead', {}, element('tr', {}, ...model.columns.map((c) => element('th', { scope: 'col', text: c })))),
    element(
      'tbody',
      {},
      ...model.rows.map((row) =>
        element(
          'tr',
          {},
          element('td', { text: row.epoch }),
          ...row.values.map((value) => element('td', { text: formatMetric(value) })),
        ),
      ),
    ),
  );
  const figure = element('figure', { class: 'metrics-figure' });
  const line = sparkline(model);
  if (line) {
    const svg = svgElement('svg', {
      class: 'sparkline',
      viewBox: `0 0 ${line.width} ${line.height}`,
      width: line.width,
      height: line.height,
      role: 'img',
      'aria-label': `${line.name} by epoch`,
    });
    svg.append(svgElement('path', { d: line.d }));
    figure.append(element('figcaption', { text: `${line.name} ${formatMetric(line.low)} – ${formatMetric(line.high)}` }, svg));
  }
  figure.append(table);
  return figure;
}

function eventList(trial, open) {
  const details = element(
    'details',
    { class: 'attempt-events', 'data-attempt': trial.attempt },
    element('summary', { text: `Events (${trial.events.length})` }),
    element(
      'ol',
      {},
      ...trial.events.map((event) =>
        element(
          'li',
          {},
          element('span', { class: 'event-type', text: event.type }),
          element('time', { datetime: event.metadata.timestamp, text: time(event.metadata.timestamp) }),
          element('span', { class: 'writer', text: event.metadata.writerId }),
        ),
      ),
    ),
  );
  details.open = open;
  return details;
}

// ---- data flow ------------------------------------------------------------------------------

/** The list always; the selected experiment when `withDetail` or when it is not on the page yet. */
async function load(withDetail) {
  const list = await graphql(LIST_QUERY);
  state.head = list.headPosition;
  state.experiments = list.experiments;
  const selection = resolveSelection(state.experiments, state.selected);
  // The default, once chosen, is kept: the page must not jump to another experiment while one runs.
  state.selected = selection.id;
  renderExperiments();
  if (selection.kind !== 'found') return showMissing(selection.id);
  if (!withDetail && state.detail?.id === state.selected) return;
  // The table and the drawer are refetched with the rest (each says its own errors: a bad filter is not a failed load).
  const [{ experiment }] = await Promise.all([graphql(DETAIL_QUERY, { id: state.selected }), loadSamples(), loadDrawer()]);
  if (!experiment) return showMissing(state.selected);
  showExperiment(experiment);
}

/** An empty store (id null) or an id no experiment has; should it appear later, its events bring it in. */
function showMissing(id) {
  $('#experiment').hidden = true;
  state.detail = null;
  // Nothing to audit: the replay of an experiment that is not there could only fail.
  state.auditWanted = null;
  clearTimeout(state.auditTimer);
  closeDrawer();
  renderNotFound(id);
}

function showExperiment(experiment) {
  renderNotFound(null);
  $('#experiment').hidden = false;
  state.detail = experiment;
  renderHeader(experiment);
  renderRewardCurve(experiment);
  renderBestCells(experiment);
  renderPolicyUpdates(experiment);
  renderAudit();
  const running = ['running', 'created'].includes(lower(experiment.status));
  state.auditWanted = { id: experiment.id, key: auditKey(experiment), running };
  runAudit();
  document.title = `nasnet · ${experiment.id}`;
}

/**
 * The audit replays the controller from the start, which costs the server CPU in proportion to
 * the experiment: it is asked again only when a sample or an update was added or the status
 * changed, never while one is in flight, and while the search runs at most every
 * AUDIT_INTERVAL_MS. Meanwhile renderAudit shows the last one as stale.
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
      if (state.auditKey === key) {
        state.auditReport = report;
        renderAudit();
      }
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

/** Another experiment, with the samples view given (a filter or a cursor of one experiment means nothing for another). */
function select(id, push, samplesView = DEFAULT_SAMPLES_VIEW) {
  if (id === state.selected) return;
  state.selected = id;
  state.samples.view = samplesView;
  state.samples.seq++;
  state.samples.connection = null;
  fillControls(samplesView);
  closeDrawer();
  state.detail = null;
  state.auditKey = null;
  state.auditWanted = null;
  state.auditReport = null;
  state.auditAt = null;
  clearTimeout(state.auditTimer);
  if (push) {
    const url = new URL(location.href);
    url.search = samplesViewToParams(samplesView, new URLSearchParams({ experiment: id })).toString();
    history.pushState({ experiment: id }, '', url);
  }
  renderAudit();
  refresh();
}

window.addEventListener('popstate', () => {
  const params = new URL(location.href).searchParams;
  const id = params.get('experiment');
  const view = samplesViewFromParams(params);
  if (id && id !== state.selected) return select(id, false, view);
  if (!sameView(view, state.samples.view)) {
    state.samples.view = view;
    fillControls(view);
    loadSamples();
  }
});

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeDrawer();
});
$('#sample-drawer .drawer-close').addEventListener('click', closeDrawer);
setUpSampleControls();
await refresh();
subscribe();
