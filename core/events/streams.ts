/** Stream names (README, "Events"). Ids are restricted so stream names stay unambiguous. */
export const EXPERIMENT_STREAM_PREFIX = 'experiment-';
export const TRIAL_STREAM_PREFIX = 'trial-';
export const TRANSFER_STREAM_PREFIX = 'transfer-';
export const SNAPSHOT_STREAM_PREFIX = 'snapshot-';
export const NASNET_STREAM_PREFIXES = [
  EXPERIMENT_STREAM_PREFIX,
  TRIAL_STREAM_PREFIX,
  TRANSFER_STREAM_PREFIX,
  SNAPSHOT_STREAM_PREFIX,
] as const;

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export function assertId(kind: string, value: string): void {
  if (!ID.test(value)) {
    throw new TypeError(
      `${kind} ${JSON.stringify(value)} is not valid: use 1-100 letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

export function experimentStream(experimentId: string): string {
  assertId('experiment id', experimentId);
  return EXPERIMENT_STREAM_PREFIX + experimentId;
}

/** Sample ids are `<experimentId>-<index>`: unique across experiments, readable in logs. */
export function sampleId(experimentId: string, index: number): string {
  assertId('experiment id', experimentId);
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError(`sample index ${index} is not a non-negative integer`);
  return `${experimentId}-${index}`;
}

export function trialStream(sampleIdValue: string): string {
  assertId('sample id', sampleIdValue);
  return TRIAL_STREAM_PREFIX + sampleIdValue;
}

/** Where an experiment's controller keeps snapshots of its state (megabytes each), apart from the experiment's stream. */
export function snapshotStream(experimentId: string): string {
  assertId('experiment id', experimentId);
  return SNAPSHOT_STREAM_PREFIX + experimentId;
}

export function transferStream(transferId: string): string {
  assertId('transfer id', transferId);
  return TRANSFER_STREAM_PREFIX + transferId;
}

export function isNasnetStream(stream: string): boolean {
  return NASNET_STREAM_PREFIXES.some((prefix) => stream.startsWith(prefix));
}
