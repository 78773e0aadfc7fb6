import { Observable } from 'rxjs';
import pg from 'pg';
import { Backoff } from '../backoff.ts';

/** How long a lost listener waits before it connects again, at first and at most. */
const RETRY_MS = { first: 100, max: 5_000 };

/**
 * The log's head as NOTIFY reports it, on a connection of its own. On every (re)connection,
 * once LISTEN is in force, the head is read once more: what was appended while no one
 * listened is then drained by the subscribers, so a dropped connection loses nothing.
 */
export function headNotifications(config: pg.ClientConfig, channel: string, readHead: () => Promise<bigint>): Observable<bigint> {
  return new Observable<bigint>((subscriber) => {
    let stopped = false;
    let current: pg.Client | null = null;
    const backoff = new Backoff(RETRY_MS.first, RETRY_MS.max);

    const connect = async (): Promise<void> => {
      const client = new pg.Client(config);
      let lost = false;
      const onLost = () => {
        if (lost) return;
        lost = true;
        if (current === client) current = null;
        client.end().catch(() => undefined);
        if (!stopped) setTimeout(() => void connect(), backoff.delay()).unref();
      };
      client.on('error', onLost);
      client.on('end', onLost);
      client.on('notification', (message) => {
        if (message.channel === channel && message.payload) subscriber.next(BigInt(message.payload));
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${channel}`);
        if (stopped) return void client.end().catch(() => undefined);
        current = client;
        backoff.reset();
        subscriber.next(await readHead());
      } catch {
        onLost();
      }
    };
    void connect();
    return () => {
      stopped = true;
      current?.end().catch(() => undefined);
    };
  });
}
