// Types for reward-chart.js, which the browser loads as it is (no build step) and the tests import.

export interface ChartFrame {
  width: number;
  height: number;
  margin: { left: number; right: number; top: number; bottom: number };
}

export interface RewardPointInput {
  index: number;
  sampleId: string;
  reward: number;
  source: string;
}

export interface UpdateInput {
  version: number;
  sampleIds: readonly string[];
  meanReward: number;
  baselineAfter: number | null;
}

export interface RewardChartModel {
  width: number;
  height: number;
  plot: { left: number; right: number; top: number; bottom: number };
  xMax: number;
  yMin: number;
  yMax: number;
  xTicks: Array<{ value: number; x: number; label: string }>;
  yTicks: Array<{ value: number; y: number; label: string }>;
  dots: Array<RewardPointInput & { x: number; y: number }>;
  meanPoints: Array<{ version: number; meanReward: number; baselineAfter: number | null; x: number; y: number }>;
  meanPath: string | null;
  baselinePath: string | null;
}

export const CHART: Readonly<ChartFrame>;
export function niceStep(span: number, count: number): number;
export function rewardChartModel(
  points: readonly RewardPointInput[],
  updates: readonly UpdateInput[],
  sampleCount: number,
  chart?: ChartFrame,
): RewardChartModel;
