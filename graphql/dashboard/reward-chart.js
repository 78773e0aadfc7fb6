// The reward curve's geometry, without the DOM: one dot per rewarded sample at its index, the
// batch mean of each policy update at the middle of its batch, the baseline after the update
// at the batch's end. Scales and ticks are computed here so node's test runner can check them.

export const CHART = Object.freeze({ width: 960, height: 270, margin: { left: 58, right: 18, top: 14, bottom: 46 } });

/** 1, 2 or 5 times a power of ten: ticks people read without effort. */
export function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

function decimals(step) {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

function path(points) {
  return points.length === 0 ? null : points.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.x)},${round(p.y)}`).join(' ');
}

function round(v) {
  return Math.round(v * 10) / 10;
}

/**
 * `points`: rewarded samples `{index, sampleId, reward, source}`; `updates`: policy updates
 * `{version, sampleIds, meanReward, baselineAfter}`; `sampleCount` fixes the x range so the
 * axis does not jump as rewards arrive out of order.
 */
export function rewardChartModel(points, updates, sampleCount, chart = CHART) {
  const { width, height, margin } = chart;
  const plot = { left: margin.left, right: width - margin.right, top: margin.top, bottom: height - margin.bottom };
  const indexOf = new Map(points.map((p) => [p.sampleId, p.index]));
  const batches = updates.map((u) => {
    const indices = u.sampleIds.map((id) => indexOf.get(id)).filter((i) => i !== undefined);
    // A sample id not among the points (never rewarded): fall back to where batch v-1 lies by construction.
    if (indices.length === 0) {
      const size = u.sampleIds.length;
      for (let i = 0; i < size; i++) indices.push((u.version - 1) * size + i);
    }
    return { update: u, first: Math.min(...indices), last: Math.max(...indices) };
  });

  const xMax = Math.max(1, sampleCount - 1, ...points.map((p) => p.index));
  const values = [
    ...points.map((p) => p.reward),
    ...updates.map((u) => u.meanReward),
    ...updates.map((u) => u.baselineAfter).filter((v) => v !== null && v !== undefined),
  ].filter(Number.isFinite);
  let yMin = values.length ? Math.min(...values) : 0;
  let yMax = values.length ? Math.max(...values) : 1;
  if (yMax - yMin < 1e-9) {
    yMin -= 0.05;
    yMax += 0.05;
  }
  const yStep = niceStep(yMax - yMin, 5);
  yMin = Math.floor(yMin / yStep - 1e-9) * yStep;
  yMax = Math.ceil(yMax / yStep + 1e-9) * yStep;

  const x = (index) => plot.left + ((plot.right - plot.left) * index) / xMax;
  const y = (value) => plot.bottom - ((plot.bottom - plot.top) * (value - yMin)) / (yMax - yMin);

  const yTicks = [];
  const places = decimals(yStep);
  for (let v = yMin; v <= yMax + yStep / 2; v += yStep) yTicks.push({ value: v, y: y(v), label: v.toFixed(places) });
  const xStep = Math.max(1, niceStep(xMax, 8));
  const xTicks = [];
  for (let i = 0; i <= xMax; i += xStep) xTicks.push({ value: i, x: x(i), label: String(i) });

  const dots = points.map((p) => ({ ...p, x: x(p.index), y: y(p.reward) }));
  const meanPoints = batches.map(({ update, first, last }) => ({
    version: update.version,
    meanReward: update.meanReward,
    baselineAfter: update.baselineAfter,
    x: x((first + last) / 2),
    y: y(update.meanReward),
  }));
  const baselinePoints = batches
    .filter(({ update }) => update.baselineAfter !== null && update.baselineAfter !== undefined)
    .map(({ update, last }) => ({ x: x(last), y: y(update.baselineAfter) }));

  return {
    width,
    height,
    plot,
    xMax,
    yMin,
    yMax,
    xTicks,
    yTicks,
    dots,
    meanPoints,
    meanPath: path(meanPoints),
    baselinePath: path(baselinePoints),
  };
}
