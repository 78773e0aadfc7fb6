import { readFile } from 'node:fs/promises';
import { UsageError } from './flags.ts';

export interface TokenSources {
  /** `--token`: on the command line, so every user of the machine sees it in `ps`. */
  token?: string;
  /** `--token-file`: a file whose first line is the token. */
  tokenFile?: string;
  /** `$NASNET_TOKEN`. */
  environment?: string;
}

export interface ResolvedToken {
  token?: string;
  /** Said on stderr: a token given where others can read it. */
  warning?: string;
}

/** The bearer token `nasnet serve` asks mutations for: --token, else --token-file, else $NASNET_TOKEN; none turns mutations off. */
export async function resolveServeToken(sources: TokenSources): Promise<ResolvedToken> {
  if (sources.token !== undefined && sources.tokenFile !== undefined)
    throw new UsageError('give --token or --token-file, not both');
  if (sources.token !== undefined) {
    if (sources.token.trim() === '') throw new UsageError('--token must not be empty');
    return {
      token: sources.token,
      warning:
        'warning: --token shows in `ps` to every user of this machine; prefer NASNET_TOKEN=<secret> or --token-file <path>',
    };
  }
  if (sources.tokenFile !== undefined) return { token: await readTokenFile(sources.tokenFile) };
  return sources.environment ? { token: sources.environment } : {};
}

async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--token-file ${JSON.stringify(path)}: cannot read it (${code ?? (error as Error).message})`);
  }
  const token = text.split(/\r?\n/, 1)[0]!.trim();
  if (token === '') throw new UsageError(`--token-file ${JSON.stringify(path)}: its first line is empty`);
  return token;
}
