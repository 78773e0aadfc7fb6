/** What a worker did, for progress displays and logs. */
export type WorkerActivity =
  | { kind: 'claimed'; experimentId: string; sampleId: string; attempt: number; takeoverFrom: string | null }
  | { kind: 'progress'; experimentId: string; sampleId: string; epoch: number; epochs: number; metrics: Record<string, number> }
  | { kind: 'completed'; experimentId: string; sampleId: string; reward: number; seconds: number }
  | { kind: 'reused'; experimentId: string; sampleId: string; fromSampleId: string; reward: number }
  | { kind: 'failed'; experimentId: string; sampleId: string; attempt: number; reason: string; final: boolean }
  | { kind: 'released'; experimentId: string; sampleId: string; attempt: number; reason: string }
  | { kind: 'skipped-experiment'; experimentId: string; reason: string };
