import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EVENT_TYPES } from '../../core/events/catalogue.ts';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../core/events/catalogue-registry.ts';
import { deterministicEventId, isEventId, randomEventId } from '../../core/events/ids.ts';
import { findJsonProblem } from '../../core/events/json.ts';
import { sampleId, trialStream } from '../../core/events/streams.ts';
import { createUpcaster, UnknownSchemaVersionError } from '../../core/events/upcast.ts';
import { InvalidEventError, validateEvent } from '../../core/events/validate.ts';
import { architectureSampled, exampleOfEveryType } from '../support/events.ts';

const refusal = (event: unknown): InvalidEventError => {
  try {
    validateEvent(event, NASNET_CATALOGUE);
  } catch (error) {
    assert.ok(error instanceof InvalidEventError, `expected InvalidEventError, got ${String(error)}`);
    return error;
  }
  assert.fail('the event was accepted');
};

describe('event catalogue', () => {
  it('accepts a valid example of every event type, and the examples cover the whole catalogue', () => {
    const examples = exampleOfEveryType('e1');
    assert.deepEqual(examples.map((e) => e.type).sort(), [...EVENT_TYPES].sort());
    for (const event of examples) assert.equal(validateEvent(event, NASNET_CATALOGUE), event);
  });

  it('refuses an unknown event type, naming it', () => {
    const error = refusal({ ...architectureSampled('e1', 0), type: 'ArchitectureSampledd' });
    assert.equal(error.eventType, 'ArchitectureSampledd');
    assert.equal(error.field, 'type');
    assert.match(error.message, /ArchitectureSampledd.*not a known event type/);
  });

  it('refuses a field of the wrong type, naming the event type, the field and the value', () => {
    const event = architectureSampled('e1', 0);
    const error = refusal({ ...event, data: { ...event.data, policyVersion: '3' } });
    assert.equal(error.eventType, 'ArchitectureSampled');
    assert.equal(error.field, 'data.policyVersion');
    assert.equal(error.value, '3');
    assert.match(error.message, /^ArchitectureSampled event refused: data\.policyVersion .*\(got "3"\)$/);
  });

  it('names block fields inside a genotype', () => {
    const event = architectureSampled('e1', 0);
    const normal: unknown[][] = event.data.genotype.normal.map((block) => [...block]);
    normal[1]![2] = 'sep_conv9x9';
    const error = refusal({ ...event, data: { ...event.data, genotype: { ...event.data.genotype, normal } } });
    assert.equal(error.field, 'data.genotype.normal[1].opB');
    assert.equal(error.value, 'sep_conv9x9');
  });

  it('refuses missing fields, unknown fields, a stale schema version, a non-UUID id and bad metadata', () => {
    const event = architectureSampled('e1', 0);
    const { cellHash: _omitted, ...withoutHash } = event.data;
    assert.equal(refusal({ ...event, data: withoutHash }).field, 'data.cellHash');
    assert.match(refusal({ ...event, data: withoutHash }).message, /is missing/);
    const extra = refusal({ ...event, data: { ...event.data, colour: 'red' } });
    assert.equal(extra.field, 'data.colour');
    assert.match(extra.message, /data\.colour is not a known field \(got "red"\)/);
    assert.equal(refusal({ ...event, version: 0 }).field, 'version');
    assert.equal(refusal({ ...event, id: 'sample-1' }).field, 'id');
    assert.equal(refusal({ ...event, metadata: { ...event.metadata, timestamp: 'yesterday' } }).field, 'metadata.timestamp');
    assert.equal(refusal({ ...event, extra: 1 }).field, 'extra');
    assert.equal(refusal(null).field, 'event');
  });

  it('refuses payloads JSON cannot carry faithfully, naming where', () => {
    const event = architectureSampled('e1', 0);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: Array<[unknown, string, RegExp]> = [
      [12n, 'data.logProb', /bigint/],
      [Number.NaN, 'data.logProb', /NaN/],
      [Number.POSITIVE_INFINITY, 'data.logProb', /Infinity/],
      [Number.NEGATIVE_INFINITY, 'data.logProb', /-Infinity/],
      [() => 1, 'data.logProb', /function/],
      [new Date(0), 'data.logProb', /Date is not a plain JSON object/],
      [new Map(), 'data.logProb', /Map/],
      [Symbol('x'), 'data.logProb', /symbol/],
      [cyclic, 'data.logProb.self', /cycle/],
      [[1, undefined], 'data.logProb.1', /undefined/],
    ];
    for (const [value, field, reason] of cases) {
      const error = refusal({ ...event, data: { ...event.data, logProb: value } });
      assert.equal(error.field, field, String(value));
      assert.match(error.message, reason);
    }
  });

  it('finds no problem in any JSON value, and finds an injected non-JSON value at its path (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(findJsonProblem(value), null);
      }),
    );
    const poison = fc.constantFrom<unknown>(1n, Number.NaN, Number.POSITIVE_INFINITY, () => 0, new Set([1]), Symbol.iterator);
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => !k.includes('.')),
          fc.jsonValue(),
          { minKeys: 1 },
        ),
        fc.nat(),
        poison,
        (object, pick, bad) => {
          const keys = Object.keys(object);
          const key = keys[pick % keys.length]!;
          const problem = findJsonProblem({ ...object, [key]: { inner: [0, bad] } }, 'data');
          assert.equal(problem?.path, `data.${key}.inner.1`);
        },
      ),
    );
  });
});

describe('event ids', () => {
  it('derives the same UUID from the same parts and different ones from different parts', () => {
    const id = deterministicEventId('exp1', 'ArchitectureSampled', 7);
    assert.equal(id, deterministicEventId('exp1', 'ArchitectureSampled', 7));
    assert.ok(isEventId(id));
    assert.equal(id[14], '5', 'a name-based (v5) UUID');
    assert.notEqual(id, deterministicEventId('exp1', 'ArchitectureSampled', 8));
    assert.notEqual(id, deterministicEventId('exp2', 'ArchitectureSampled', 7));
    // joining parts must not make different part lists collide
    assert.notEqual(deterministicEventId('a/b', 'c'), deterministicEventId('a', 'b/c'));
    assert.ok(isEventId(randomEventId()));
    assert.notEqual(randomEventId(), randomEventId());
  });

  it('names streams and samples, refusing ids that would make them ambiguous', () => {
    assert.equal(sampleId('exp1', 12), 'exp1-12');
    assert.equal(trialStream(sampleId('exp1', 12)), 'trial-exp1-12');
    assert.throws(() => sampleId('exp 1', 0), /experiment id "exp 1" is not valid/);
    assert.throws(() => sampleId('exp1', -1), /sample index -1/);
  });
});

describe('upcasting', () => {
  const catalogue: EventCatalogue = {
    schemas: { ...NASNET_CATALOGUE.schemas, TrainingProgressed: { ...NASNET_CATALOGUE.schemas.TrainingProgressed!, version: 3 } },
    upcasters: [
      {
        type: 'TrainingProgressed',
        fromVersion: 1,
        upcast: (data) => ({ ...data, metrics: { ...(data.metrics as object), v2: 1 } }),
      },
      { type: 'TrainingProgressed', fromVersion: 2, upcast: ({ epochs, ...rest }) => ({ ...rest, totalEpochs: epochs ?? null }) },
    ],
  };
  const upcast = createUpcaster(catalogue);

  it('applies each step from the stored version to the current one, in order', () => {
    assert.deepEqual(upcast('TrainingProgressed', 1, { epochs: 20, metrics: {} }), { metrics: { v2: 1 }, totalEpochs: 20 });
    assert.deepEqual(upcast('TrainingProgressed', 2, { epochs: 20, metrics: {} }), { metrics: {}, totalEpochs: 20 });
    const current = { anything: true };
    assert.equal(upcast('TrainingProgressed', 3, current), current, 'current events pass through untouched');
  });

  it('refuses versions newer than the code, missing steps and unknown types with a clear error', () => {
    assert.throws(
      () => upcast('TrainingProgressed', 4, {}),
      (error: unknown) => {
        assert.ok(error instanceof UnknownSchemaVersionError);
        assert.match(error.message, /schema version 4, newer than this nasnet knows \(3\)/);
        return true;
      },
    );
    const gappy = createUpcaster({ ...catalogue, upcasters: catalogue.upcasters.slice(1) });
    assert.throws(() => gappy('TrainingProgressed', 1, {}), /no upcaster takes TrainingProgressed from schema version 1/);
    assert.throws(() => upcast('Nope', 1, {}), /unknown to this nasnet/);
  });
});
