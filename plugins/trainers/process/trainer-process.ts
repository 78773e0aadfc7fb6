import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { TrainingFailure, type TrainerContext, type TrainingResult } from '../../../core/runtime/trainer-plugin.ts';
import { parseChildLine, ProtocolError, type ChildLine, type Hello } from './protocol.ts';

export interface ProcessSpec {
  /** The program and its arguments. */
  command: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** After SIGTERM, how long the program has to exit before SIGKILL. */
  graceMs: number;
}

/**
 * util-linux's setpriv makes the kernel kill the program when this process dies, even by
 * SIGKILL, which leaves no orphan training on with nobody to report to.
 */
const SETPRIV = '/usr/bin/setpriv';
const STDERR_TAIL = 4000;

interface Running {
  context: TrainerContext;
  settle: (outcome: { result: TrainingResult } | { error: TrainingFailure }) => void;
}

/**
 * One trainer program, speaking the protocol over its stdin and stdout. It runs in a process
 * group of its own, so a stop reaches whatever it started too.
 */
export class TrainerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private hello: Hello | null = null;
  private linesSeen = 0;
  private running: Running | null = null;
  private broken: string | null = null;
  private exited: string | null = null;
  readonly done: Promise<void>;

  constructor(readonly spec: ProcessSpec) {
    const [file, ...args] =
      process.platform === 'linux' && existsSync(SETPRIV)
        ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...spec.command]
        : spec.command;
    this.child = spawn(file!, args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdin.on('error', () => undefined); // a program that exits early closes the pipe: its exit is what is reported
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL);
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
    this.done = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.exited = `could not be started: ${error.message}`;
        this.fail(`${this.describe()} ${this.exited}`, false);
        resolve();
      });
      // 'close', not 'exit': the last lines of stdout (the result) are read by then
      this.child.on('close', (code, signal) => {
        this.exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.fail(`${this.describe()} ${this.exited} before it wrote a result`, true);
        resolve();
      });
    });
  }

  /** Whether it said it serves many jobs, and can take another now. */
  get reusable(): boolean {
    return this.hello?.jobs === 'many' && this.exited === null && this.broken === null && this.running === null;
  }

  /** Sends one job and waits for its result; every way it can go wrong is a TrainingFailure. */
  run(message: object, context: TrainerContext, timeoutMs: number): Promise<TrainingResult> {
    if (this.exited !== null || this.broken !== null)
      return Promise.reject(new TrainingFailure(`${this.describe()} ${this.exited ?? this.broken}`, true));
    return new Promise<TrainingResult>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => this.abandon(`${this.describe()} wrote no result within ${timeoutMs / 1000} s`, true), timeoutMs)
          : null;
      const onAbort = () => this.abandon('training was aborted', true, 'AbortError');
      context.signal.addEventListener('abort', onAbort, { once: true });
      this.hold(true);
      this.running = {
        context,
        settle: (outcome) => {
          this.running = null;
          this.hold(false);
          if (timer) clearTimeout(timer);
          context.signal.removeEventListener('abort', onAbort);
          if ('result' in outcome) resolve(outcome.result);
          else reject(outcome.error);
        },
      };
      if (context.signal.aborted) return onAbort();
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  /**
   * A program waiting for a job must not keep this process alive (a library user who forgets
   * close() would hang on exit); one training must, until its result is in.
   */
  private hold(busy: boolean): void {
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Array<{
      ref?: () => void;
      unref?: () => void;
    }>) {
      if (busy) handle.ref?.();
      else handle.unref?.();
    }
  }

  /** Closes its stdin (the protocol's "no more jobs"), then SIGTERM and SIGKILL if it lingers. */
  async stop(): Promise<void> {
    this.child.stdin.end();
    await this.terminate();
  }

  private onLine(raw: string): void {
    if (this.broken !== null) return;
    let line: ChildLine;
    try {
      line = parseChildLine(raw);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return this.abandon(`${this.describe()} ${error.message}`, false);
    }
    const first = this.linesSeen++ === 0;
    if ('hello' in line) {
      if (!first) return this.abandon(`${this.describe()} said hello after its first line`, false);
      this.hello = line.hello;
    } else if (!this.running) {
      this.abandon(`${this.describe()} wrote ${Object.keys(line)[0]} while it had no job`, false);
    } else if ('progress' in line) {
      this.running.context.progress(line.progress);
    } else if ('result' in line) {
      this.running.settle({ result: line.result });
    } else {
      this.running.settle({ error: new TrainingFailure(line.failure.message, line.failure.retryable) });
    }
  }

  /** Ends the job in hand (if any) with this failure and stops the program: it cannot be trusted with another. */
  private abandon(message: string, retryable: boolean, name?: string): void {
    this.broken ??= message;
    this.fail(message, retryable, name);
    void this.terminate();
  }

  private fail(message: string, retryable: boolean, name?: string): void {
    if (!this.running) return;
    const failure = new TrainingFailure(name === 'AbortError' ? message : this.withStderr(message), retryable);
    if (name) failure.name = name;
    this.running.settle({ error: failure });
  }

  private async terminate(): Promise<void> {
    if (this.exited !== null) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), this.spec.graceMs);
    await this.done;
    clearTimeout(timer);
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      // the whole group: the program and anything it started
      process.kill(-this.child.pid!, signal);
    } catch {
      // already gone
    }
  }

  private describe(): string {
    return `trainer program ${JSON.stringify(this.spec.command.join(' '))}`;
  }

  private withStderr(message: string): string {
    const tail = this.stderr.trim();
    return tail ? `${message}; its stderr ended with:\n${tail}` : `${message} (it wrote nothing to stderr)`;
  }
}
