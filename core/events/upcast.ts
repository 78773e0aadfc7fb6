import type { EventCatalogue, Upcaster } from './catalogue-registry.ts';
import type { JsonObject } from './json.ts';

export class UnknownSchemaVersionError extends Error {
  constructor(
    readonly eventType: string,
    readonly storedVersion: number,
    readonly knownVersion: number | null,
  ) {
    super(
      knownVersion === null
        ? `stored event type ${JSON.stringify(eventType)} is unknown to this nasnet: upgrade nasnet to read this store`
        : knownVersion < storedVersion
          ? `stored ${eventType} has schema version ${storedVersion}, newer than this nasnet knows (${knownVersion}): upgrade nasnet to read this store`
          : `no upcaster takes ${eventType} from schema version ${storedVersion} towards ${knownVersion}`,
    );
    this.name = 'UnknownSchemaVersionError';
  }
}

export type UpcastFn = (type: string, version: number, data: JsonObject) => JsonObject;

/**
 * Builds the read-side upcasting function once per store, so the hot read path is one
 * map lookup and a version compare for events already at the current version.
 */
export function createUpcaster(catalogue: EventCatalogue): UpcastFn {
  const chains = new Map<string, Map<number, Upcaster>>();
  for (const upcaster of catalogue.upcasters) {
    let chain = chains.get(upcaster.type);
    if (!chain) chains.set(upcaster.type, (chain = new Map()));
    chain.set(upcaster.fromVersion, upcaster);
  }
  return (type, version, data) => {
    const schema = catalogue.schemas[type];
    if (!schema) throw new UnknownSchemaVersionError(type, version, null);
    if (version === schema.version) return data;
    if (version > schema.version) throw new UnknownSchemaVersionError(type, version, schema.version);
    let current = data;
    for (let v = version; v < schema.version; v++) {
      const step = chains.get(type)?.get(v);
      if (!step) throw new UnknownSchemaVersionError(type, v, schema.version);
      current = step.upcast(current);
    }
    return current;
  };
}
