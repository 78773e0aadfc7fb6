import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { trainingResult } from '../../../core/events/catalogue.ts';
import type { TrainingProgress, TrainingResult } from '../../../core/runtime/trainer-plugin.ts';

/**
 * The process trainer protocol (README, "Trainers in any language"): JSON lines over the
 * program's stdin and stdout. The runtime writes `{"protocol": 1, "job": …}`; the program may
 * first say `{"hello": …}`, then writes `{"progress": …}` lines and exactly one `{"result": …}`
 * or `{"failure": …}`. Logs go to stderr: every stdout line must be one of these objects.
 */
export const PROTOCOL_VERSION = 1;

const metrics = Type.Record(Type.String(), Type.Number());
const text = Type.String({ minLength: 1 });

const hello = Type.Object(
  {
    protocol: Type.Literal(PROTOCOL_VERSION),
    name: Type.Optional(text),
    backend: Type.Optional(text),
    device: Type.Optional(text),
    /** `many`: the runtime may send another job after a result; `one`: a process per job. */
    jobs: Type.Optional(Type.Enum(['one', 'many'])),
  },
  { additionalProperties: true },
);

const progress = Type.Object(
  { epoch: Type.Integer({ minimum: 1 }), epochs: Type.Integer({ minimum: 1 }), metrics },
  { additionalProperties: false },
);

// what the events record of a training, with the device the program must name
const result = Type.Object({ ...trainingResult, device: text }, { additionalProperties: false });

const failure = Type.Object({ message: text, retryable: Type.Boolean() }, { additionalProperties: false });

const line = Type.Union([
  Type.Object({ hello }, { additionalProperties: false }),
  Type.Object({ progress }, { additionalProperties: false }),
  Type.Object({ result }, { additionalProperties: false }),
  Type.Object({ failure }, { additionalProperties: false }),
]);

export type Hello = Static<typeof hello>;
export type ChildLine =
  | { hello: Hello }
  | { progress: TrainingProgress }
  | { result: TrainingResult }
  | { failure: { message: string; retryable: boolean } };

const checkLine = Compile(line);
const KINDS = ['hello', 'progress', 'result', 'failure'] as const;
const schemaOf = { hello: Compile(hello), progress: Compile(progress), result: Compile(result), failure: Compile(failure) };

/** A line the program should not have written; `retryable` is false: the program is wrong. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const excerpt = (value: string) => JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);

/** One stdout line of the program, checked; a ProtocolError says what is wrong with it. */
export function parseChildLine(raw: string): ChildLine {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ProtocolError(
      `printed a line that is not JSON on stdout: ${excerpt(raw)} (stdout carries protocol lines only; write logs to stderr)`,
    );
  }
  if (checkLine.Check(value)) return value as ChildLine;
  const kind = typeof value === 'object' && value !== null ? KINDS.find((k) => k in value) : undefined;
  if (!kind)
    throw new ProtocolError(`printed ${excerpt(raw)}, which is none of {"hello"}, {"progress"}, {"result"}, {"failure"}`);
  const inner = (value as Record<string, unknown>)[kind];
  const spoken =
    kind === 'hello' && typeof inner === 'object' && inner !== null
      ? (inner as { protocol?: unknown }).protocol
      : PROTOCOL_VERSION;
  if (spoken !== PROTOCOL_VERSION)
    throw new ProtocolError(`speaks protocol ${JSON.stringify(spoken)}; this nasnet speaks protocol ${PROTOCOL_VERSION}`);
  const error = schemaOf[kind].Errors(inner)[0];
  const field = error
    ? error.instancePath.slice(1).replaceAll('/', '.') ||
      ((error.params as { additionalProperties?: string[] }).additionalProperties?.[0] ?? '')
    : '';
  const why = error
    ? `${field ? `${kind}.${field}` : kind} ${error.keyword === 'boolean' ? 'is not a known field' : error.message}`
    : `has fields beside "${kind}"`;
  throw new ProtocolError(`printed a ${kind} line that breaks protocol ${PROTOCOL_VERSION}: ${why} (in ${excerpt(raw)})`);
}
