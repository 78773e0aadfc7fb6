/**
 * The reward baseline: an exponential moving average of rewards (paper: decay 0.95), taken
 * over a batch's rewards in sample order. Before any reward it is null; the first batch is
 * then measured against its own mean and starts the average from that mean.
 */
export function advantageBaseline(baseline: number | null, rewards: readonly number[]): number {
  return baseline ?? mean(rewards);
}

export function nextBaseline(baseline: number | null, rewards: readonly number[], decay: number): number {
  let value = baseline ?? mean(rewards);
  for (const reward of rewards) value = decay * value + (1 - decay) * reward;
  return value;
}

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}
