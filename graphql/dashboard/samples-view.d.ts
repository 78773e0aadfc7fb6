// Types for samples-view.js, which the browser loads as it is (no build step) and the tests import.

export type SampleOrder = 'INDEX' | 'REWARD_DESC' | 'REWARD_ASC' | 'COMPLETED_AT';
export type SampleStatus = 'SAMPLED' | 'CLAIMED' | 'TRAINING' | 'COMPLETED' | 'FAILED' | 'REUSED';

/** What the samples table shows: an order, a filter and a page (one cursor at most). */
export interface SamplesView {
  order: SampleOrder;
  statuses: readonly SampleStatus[];
  minReward: number | null;
  maxReward: number | null;
  policyVersion: number | null;
  cellHash: string | null;
  /** The page after this cursor (forwards), or the page before `before` (backwards); neither for the first page. */
  after: string | null;
  before: string | null;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface SampleFilterInput {
  status?: SampleStatus[];
  minReward?: number;
  maxReward?: number;
  policyVersion?: number;
  cellHash?: string;
}

export type SamplesVariables = {
  id: string;
  orderBy: SampleOrder;
  filter: SampleFilterInput | null;
} & ({ first: number; after: string | null } | { last: number; before: string });

export interface EpochMetricsInput {
  epoch: number;
  epochs?: number;
  metrics: unknown;
  at?: string;
}

export interface MetricsTable {
  /** `epoch`, then `names`. */
  columns: string[];
  names: string[];
  /** By epoch; `values[i]` is the value of `names[i]` (undefined where the epoch did not report it). */
  rows: Array<{ epoch: number; values: unknown[] }>;
}

export interface Sparkline {
  name: string;
  d: string;
  low: number;
  high: number;
  width: number;
  height: number;
}

export const SAMPLE_ORDERS: readonly SampleOrder[];
export const SAMPLE_STATUSES: readonly SampleStatus[];
export const PAGE_SIZE: number;
export const SHORT_HASH: number;
export const DEFAULT_SAMPLES_VIEW: Readonly<SamplesView>;
export function normalizeStatuses(values: readonly string[]): SampleStatus[];
export function samplesViewFromParams(params: URLSearchParams): SamplesView;
export function samplesViewToParams(view: SamplesView, params?: URLSearchParams): URLSearchParams;
export function sampleFilterInput(view: SamplesView): SampleFilterInput | null;
export function samplesVariables(experimentId: string, view: SamplesView): SamplesVariables;
export function withFilter(view: SamplesView, changes: Partial<SamplesView>): SamplesView;
export function nextPageView(view: SamplesView, pageInfo: PageInfo): SamplesView;
export function previousPageView(view: SamplesView, pageInfo: PageInfo): SamplesView;
export function settledView(view: SamplesView, pageInfo: PageInfo): SamplesView;
export function sameView(a: SamplesView, b: SamplesView): boolean;
export function shortHash(hash: string): string;
export function formatMetric(value: unknown): string;
export function metricsTable(epochs: readonly EpochMetricsInput[]): MetricsTable;
export function sparkline(table: MetricsTable, width?: number, height?: number): Sparkline | null;
