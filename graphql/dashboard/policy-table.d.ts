// Types for policy-table.js, which the browser loads as it is (no build step) and the tests import.

export interface PolicyUpdateInput {
  version: number;
  sampleIds: readonly string[];
  meanReward: number;
  baselineBefore: number | null;
  baselineAfter: number | null;
  loss?: number | null;
  approxKl?: number | null;
  clipFraction?: number | null;
  entropy?: number | null;
  paramsDigestAfter: string;
  /** Evolution only: the size of the population the update left and its best members. */
  populationSize?: number | null;
  population?: ReadonlyArray<{ id: string; reward: number | null }> | null;
}

export interface PolicyUpdateCell {
  text: string;
  title?: string;
  className?: string;
  sampleId?: string;
}

export interface PolicyUpdateRow {
  version: number;
  cells: PolicyUpdateCell[];
}

export function formatReward(value: number | null | undefined): string;
export function formatStat(value: number | null | undefined): string;
export function policyUpdateColumns(strategy: string | null): string[];
export function policyUpdateRows(strategy: string | null, updates: readonly PolicyUpdateInput[]): PolicyUpdateRow[];
