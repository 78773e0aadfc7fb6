// Types for dashboard-view.js, which the browser loads as it is (no build step) and the tests import.

export interface ExperimentSummary {
  id: string;
  status?: string;
  completedCount: number;
  failedCount: number;
  bestReward: number | null;
}

export type Selection = { kind: 'none'; id: null } | { kind: 'missing' | 'found'; id: string };

export interface AuditReportInput {
  ok: boolean;
  checkedSamples: number;
  checkedUpdates: number;
  firstDivergence: { position: string; eventType: string; what: string; expected: unknown; found: unknown } | null;
}

export interface AuditView {
  className: string;
  text: string;
  stale: boolean;
}

export const MAX_SHOWN_ID: number;
export const MAX_CHOICES: number;
export function hasRewards(experiment: ExperimentSummary): boolean;
export function defaultExperimentId(experiments: readonly ExperimentSummary[]): string | null;
export function resolveSelection(experiments: readonly ExperimentSummary[], requested: string | null): Selection;
export function shortId(id: string, max?: number): string;
export function notFoundMessage(id: string): string;
export function experimentChoices<T extends ExperimentSummary>(experiments: readonly T[], max?: number): T[];
export function auditKey(experiment: {
  id: string;
  status: string;
  sampleCount: number;
  policyUpdates: readonly unknown[];
}): string;
export function auditView(
  report: AuditReportInput | Error | null | undefined,
  shown: { updates: number; samples: number },
): AuditView;
