import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JSONRecordedEvent, Position } from '@eventstore/db-client';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../core/events/catalogue-registry.ts';
import type { NasnetEvent } from '../../core/events/event.ts';
import { createEventValidator } from '../../core/events/validate.ts';
import { createEventReader, isNasnetRecord, toEsdbEvent } from '../../core/store/esdb/convert.ts';
import { encodePosition } from '../../core/store/esdb/position.ts';
import { prepareAppend } from '../../core/store/prepare-append.ts';
import { architectureSampled, asWritten, experimentCreated } from '../support/events.ts';

/** What the client hands back for an event written with toEsdbEvent: JSON parsed again, plus where it sits. */
function stored(event: NasnetEvent, stream: string, revision: bigint, position?: Position): JSONRecordedEvent {
  const written = toEsdbEvent(prepareAppend(stream, [event], 'any', createEventValidator(NASNET_CATALOGUE))[0]!);
  assert.equal(written.contentType, 'application/json');
  return {
    streamId: stream,
    id: written.id,
    isJson: true,
    revision,
    type: written.type,
    created: new Date(),
    data: JSON.parse(JSON.stringify(written.data)),
    metadata: JSON.parse(JSON.stringify(written.metadata)),
    position,
  };
}

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
