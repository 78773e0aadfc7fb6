import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** `<host>/<pid>/<random>`: unique per worker, and says where the worker ran. */
export function newWorkerId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
}

/**
 * Whether a claim's holder may still be running. A holder on this host whose process is gone
 * (killed, crashed) is dead for sure, so its trials are taken over at once instead of after
 * the lease; anything else is presumed alive until its lease runs out. (A reused pid can make
 * a dead holder look alive; the lease still bounds that.)
 */
export function localHolderAlive(workerId: string): boolean {
  const [host, pidText] = workerId.split('/');
  if (host !== hostname()) return true;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
