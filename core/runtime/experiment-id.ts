import { randomBytes } from 'node:crypto';

/** `exp-<yyyymmdd-hhmmss>-<4 hex>`: sorts by time, unique enough for one person's searches. */
export function newExperimentId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `exp-${stamp}-${randomBytes(2).toString('hex')}`;
}
