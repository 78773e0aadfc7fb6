import Type from 'typebox';
import { Compile } from 'typebox/compile';
import type { Validator } from 'typebox/compile';
import { BLOCK_FIELDS } from '../search-space/genotype.ts';
import type { EventCatalogue } from './catalogue-registry.ts';
import type { NasnetEvent } from './event.ts';
import { isEventId } from './ids.ts';
import { describeValue, findJsonProblem } from './json.ts';

/** An event refused at the store boundary; nothing of its batch was written. */
export class InvalidEventError extends Error {
  constructor(
    /** The event's type as given (may be unknown or not even a string). */
    readonly eventType: string,
    /** Dotted path of the offending field, e.g. `data.genotype.normal[2].inputB`. */
    readonly field: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${eventType} event refused: ${field} ${reason} (got ${describeValue(value)})`);
    this.name = 'InvalidEventError';
  }
}

const metadataSchema = Type.Object(
  {
    timestamp: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' }),
    correlationId: Type.String({ minLength: 1 }),
    causationId: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    writerId: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

const ENVELOPE_KEYS = new Set(['id', 'type', 'version', 'data', 'metadata']);

export type EventValidator = (event: unknown) => NasnetEvent;

/**
 * Compiles the catalogue's schemas once into a checker for whole events. The checker
 * throws InvalidEventError naming the event type, the field and the value of the first
 * problem found, and returns the event typed when there is none.
 */
export function createEventValidator(catalogue: EventCatalogue): EventValidator {
  const dataValidators = new Map<string, { version: number; check: Validator }>();
  for (const [type, schema] of Object.entries(catalogue.schemas)) {
    dataValidators.set(type, { version: schema.version, check: Compile(schema.data) });
  }
  const metadataValidator = Compile(metadataSchema);

  return (event) => {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new InvalidEventError('(not an object)', 'event', event, 'must be an object {id, type, version, data, metadata}');
    }
    const record = event as Record<string, unknown>;
    if (typeof record.type !== 'string') {
      throw new InvalidEventError(
        `(type ${describeValue(record.type)})`,
        'type',
        record.type,
        'must be a string naming an event type',
      );
    }
    const typeName = record.type;
    const schema = dataValidators.get(typeName);
    if (!schema) throw new InvalidEventError(typeName, 'type', typeName, 'is not a known event type');
    for (const key of Object.keys(record)) {
      if (!ENVELOPE_KEYS.has(key)) throw new InvalidEventError(typeName, key, record[key], 'is not an event field');
    }
    if (!isEventId(record.id)) throw new InvalidEventError(typeName, 'id', record.id, 'must be a UUID');
    if (record.version !== schema.version) {
      throw new InvalidEventError(typeName, 'version', record.version, `must be the current schema version ${schema.version}`);
    }
    // Faithfulness first: a NaN or bigint deserves "cannot be stored as JSON", not "must be number".
    const problem = findJsonProblem(record.data, 'data') ?? findJsonProblem(record.metadata, 'metadata');
    if (problem)
      throw new InvalidEventError(typeName, problem.path, problem.value, `cannot be stored as JSON: ${problem.reason}`);
    if (!schema.check.Check(record.data)) throw explain(typeName, 'data', record.data, schema.check);
    if (!metadataValidator.Check(record.metadata)) throw explain(typeName, 'metadata', record.metadata, metadataValidator);
    return event as NasnetEvent;
  };
}

const cached = new WeakMap<EventCatalogue, EventValidator>();

/** Validates one event against a catalogue (compiling it on first use). */
export function validateEvent(event: unknown, catalogue: EventCatalogue): NasnetEvent {
  let validator = cached.get(catalogue);
  if (!validator) cached.set(catalogue, (validator = createEventValidator(catalogue)));
  return validator(event);
}

/** Only called for an invalid value: turns the first schema error into a message a person can act on. */
function explain(typeName: string, root: string, input: unknown, validator: Validator): InvalidEventError {
  const error = validator.Errors(input)[0];
  if (!error) return new InvalidEventError(typeName, root, input, 'is invalid');
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  switch (error.keyword) {
    case 'required': {
      const missing = error.params.requiredProperties[0] ?? '?';
      return new InvalidEventError(typeName, formatPath(root, [...path, missing]), undefined, 'is missing');
    }
    case 'boolean':
      // `additionalProperties: false` reports each extra field as a `false` schema at its path.
      if (error.schemaPath.endsWith('/additionalProperties')) {
        return new InvalidEventError(typeName, formatPath(root, path), valueAt(input, path), 'is not a known field');
      }
      return new InvalidEventError(typeName, formatPath(root, path), valueAt(input, path), error.message);
    case 'additionalProperties':
      return new InvalidEventError(
        typeName,
        formatPath(root, path),
        valueAt(input, path),
        `has unknown field(s) ${error.params.additionalProperties.join(', ')}`,
      );
    case 'enum':
      return new InvalidEventError(
        typeName,
        formatPath(root, path),
        valueAt(input, path),
        `must be one of ${error.params.allowedValues.join(', ')}`,
      );
    default:
      return new InvalidEventError(typeName, formatPath(root, path), valueAt(input, path), error.message);
  }
}

function valueAt(input: unknown, path: readonly string[]): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** `data.genotype.normal.2.3` → `data.genotype.normal[2].inputB`: blocks are tuples, name their fields. */
function formatPath(root: string, path: readonly string[]): string {
  let out = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (/^\d+$/.test(key)) {
      out += `[${key}]`;
      const inCell = (path[i - 1] === 'normal' || path[i - 1] === 'reduction') && /^\d+$/.test(path[i + 1] ?? '');
      if (inCell) {
        out += `.${BLOCK_FIELDS[Number(path[i + 1])] ?? path[i + 1]}`;
        i++;
      }
    } else {
      out += `.${key}`;
    }
  }
  return out;
}
