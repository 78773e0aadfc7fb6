import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryEvent, jsonEvent } from '@eventstore/db-client';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../core/events/catalogue-registry.ts';
import { appendSize, createEventReader, foreignReason, isNasnetRecord, isOwnRecord } from '../../core/store/esdb/convert.ts';
import { encodePosition } from '../../core/store/esdb/position.ts';
import { stored } from '../support/fake-esdb-client.ts';
import { architectureSampled, asWritten, experimentCreated } from '../support/events.ts';

const at = { commit: 1200n, prepare: 1100n };

test('writes the schema version into the metadata and reads the event back as written', () => {
  const event = architectureSampled('e1', 3);
  const record = stored(event, 'experiment-e1', 7n, at);
  assert.deepEqual(record.metadata, { ...event.metadata, schemaVersion: 1 });
  const read = createEventReader(NASNET_CATALOGUE)(record);
  assert.deepEqual(asWritten(read), event);
  assert.equal(read.stream, 'experiment-e1');
  assert.equal(read.revision, 7n);
  assert.equal(read.position, encodePosition(at));
});

test('upcasts stored data to the current schema version', () => {
  const base = NASNET_CATALOGUE.schemas.ExperimentCreated!;
  const catalogue: EventCatalogue = {
    schemas: { ...NASNET_CATALOGUE.schemas, ExperimentCreated: { ...base, version: 2 } },
    upcasters: [
      { type: 'ExperimentCreated', fromVersion: 1, upcast: (data) => ({ ...data, codeVersion: `v${String(data.codeVersion)}` }) },
    ],
  };
  const event = experimentCreated('e2');
  const read = createEventReader(catalogue)(stored(event, 'experiment-e2', 0n, at));
  assert.equal(read.version, 2);
  assert.deepEqual(read.data, { ...event.data, codeVersion: 'v0.1.0' });
  assert.deepEqual(read.metadata, event.metadata);
});

test('refuses stored events it cannot read faithfully', () => {
  const read = createEventReader(NASNET_CATALOGUE);
  const record = stored(experimentCreated('e3'), 'experiment-e3', 0n, at);
  assert.throws(
    () => read({ ...record, metadata: { ...(record.metadata as object), schemaVersion: undefined } }),
    /schemaVersion/,
  );
  assert.throws(() => read({ ...record, position: undefined }), /22\.6/);
  assert.throws(() => read({ ...record, position: { commit: 0n, prepare: 0n } }), /22\.6/);
  assert.throws(() => read({ ...record, data: ['not', 'an', 'object'] }), /not a JSON object/);
  assert.throws(() => read({ ...record, type: 'SomethingElse' }), /unknown/);
});

test('exposes nasnet streams only: no system events, no foreign streams', () => {
  const record = stored(experimentCreated('e4'), 'experiment-e4', 0n, at);
  assert.equal(isNasnetRecord(record), true);
  assert.equal(isNasnetRecord({ ...record, streamId: 'orders-1' }), false);
  assert.equal(isNasnetRecord({ ...record, streamId: '$settings' }), false);
  assert.equal(isNasnetRecord({ ...record, type: '$metadata' }), false);
});

test('tells records nasnet wrote from foreign ones in streams named like ours', () => {
  const record = stored(experimentCreated('e5'), 'experiment-e5', 0n, at);
  assert.equal(foreignReason(record), undefined);
  assert.equal(isOwnRecord(record), true);
  const metadata = record.metadata as Record<string, unknown>;
  const foreign = [
    { ...record, isJson: false as never, data: new Uint8Array([1]) as never },
    { ...record, data: 'not json {' },
    { ...record, data: ['an', 'array'] },
    { ...record, metadata: undefined },
    { ...record, metadata: { ...metadata, schemaVersion: undefined } },
    { ...record, metadata: { ...metadata, schemaVersion: '1' } },
    { ...record, metadata: { ...metadata, schemaVersion: 1.5 } },
  ];
  for (const candidate of foreign) assert.equal(isOwnRecord(candidate), false, JSON.stringify(candidate.metadata));
  assert.match(foreignReason(foreign[0]!) ?? '', /not stored as JSON/);
  assert.match(foreignReason(foreign[4]!) ?? '', /schemaVersion/);
  // Ours by shape even when unreadable: the reader must refuse it, not skip it.
  assert.equal(isOwnRecord({ ...record, type: 'SomethingElse' }), true);
});

test('measures an append as the server counts it: UTF-8 JSON of data and metadata, type twice, plus the id', () => {
  const id = '0b6b7bc2-77b8-4b85-9d52-d8c2c1b0a8a1';
  const event = jsonEvent({ id, type: 'Té', data: { s: 'é€' }, metadata: { schemaVersion: 1 } });
  const data = Buffer.byteLength('{"s":"é€"}');
  const metadata = Buffer.byteLength('{"schemaVersion":1}');
  assert.equal(data, 13); // 8 ASCII bytes, é 2, € 3
  assert.equal(appendSize([event]), data + metadata + 2 * 2 + 36);
  assert.equal(appendSize([event, event]), 2 * appendSize([event]));
  assert.equal(appendSize([binaryEvent({ id, type: 'B', data: new Uint8Array(10) })]), 10 + 2 + 36);
});
