import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A second "host": a network namespace joined to this one by a veth link, each end with its own
 * address on a /30. Processes started through `command` see only that link (and their own
 * loopback), so they reach this host's services at `hostAddress` and nothing else.
 */
export interface OtherHost {
  name: string;
  hostAddress: string;
  /** Prefix for a command run inside the namespace. */
  command(program: string, args: readonly string[]): [string, string[]];
  /** Takes the link down: packets stop both ways, connections hang as they would on a cut cable. */
  cut(): Promise<void>;
  remove(): Promise<void>;
}

/** Why another host cannot be made here, or null when it can (root and iproute2). */
export async function otherHostUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    await run('ip', ['netns', 'list']);
    return null;
  } catch (error) {
    return `ip netns is unavailable: ${(error as Error).message}`;
  }
}

export async function createOtherHost(): Promise<OtherHost> {
  const tag = randomBytes(3).toString('hex');
  const name = `nasnet-${tag}`;
  // Interface names stop at 15 characters; a random /30 in 10.77.0.0/16 keeps parallel runs apart.
  const [hostSide, nsSide] = [`nvh${tag}`, `nvn${tag}`];
  const subnet = (Number.parseInt(tag, 16) % 16_000) * 4;
  const hostAddress = `10.77.${subnet >> 8}.${(subnet & 255) + 1}`;
  const nsAddress = `10.77.${subnet >> 8}.${(subnet & 255) + 2}`;
  const inside = (...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
  await run('ip', ['netns', 'add', name]);
  try {
    await run('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nsSide]);
    await run('ip', ['link', 'set', nsSide, 'netns', name]);
    await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostSide]);
    await run('ip', ['link', 'set', hostSide, 'up']);
    await inside('ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsSide);
    await inside('ip', 'link', 'set', nsSide, 'up');
    await inside('ip', 'link', 'set', 'lo', 'up');
  } catch (error) {
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    await run('ip', ['link', 'del', hostSide]).catch(() => undefined);
    throw error;
  }
  return {
    name,
    hostAddress,
    command: (program, args) => ['ip', ['netns', 'exec', name, program, ...args]],
    cut: async () => void (await run('ip', ['link', 'set', hostSide, 'down'])),
    remove: async () => {
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
      await run('ip', ['link', 'del', hostSide]).catch(() => undefined);
    },
  };
}

/**
 * Accepts connections at `host:port` and relays each to `target`. The tests use it to put the
 * local PostgreSQL at the veth address: telling the shared server to listen there would need a
 * restart, which would cut every other test's connections.
 */
export async function relay(
  host: string,
  port: number,
  target: { host: string; port: number },
): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
