import type { SampleStatus } from '../../core/projections/read-model-tables.ts';
import type { SampleFilter } from '../../core/projections/sample-pages.ts';
import { badInput, quote } from './input.ts';

/** `SampleFilter` as GraphQL delivers it (statuses already mapped to the read models' values). */
export interface SampleFilterInput {
  status?: SampleStatus[] | null;
  minReward?: number | null;
  maxReward?: number | null;
  policyVersion?: number | null;
  cellHash?: string | null;
}

// Canonical hashes are hex digests; a long or odd string can only match nothing and is a mistake.
const CELL_HASH = /^[A-Za-z0-9]{1,128}$/;

/** The filter samplesPage applies; a filter that is wrong rather than empty is an error naming the field. */
export function sampleFilter(input: SampleFilterInput | null | undefined): SampleFilter {
  if (!input) return {};
  const filter: { -readonly [K in keyof SampleFilter]: SampleFilter[K] } = {};
  if (input.status) filter.statuses = [...new Set(input.status)];
  if (input.minReward !== null && input.minReward !== undefined) filter.minReward = input.minReward;
  if (input.maxReward !== null && input.maxReward !== undefined) filter.maxReward = input.maxReward;
  if (filter.minReward !== undefined && filter.maxReward !== undefined && filter.minReward > filter.maxReward)
    throw badInput(`filter.minReward (${filter.minReward}) is above filter.maxReward (${filter.maxReward})`);
  if (input.policyVersion !== null && input.policyVersion !== undefined) {
    if (input.policyVersion < 0) throw badInput(`filter.policyVersion must be 0 or more (got ${input.policyVersion})`);
    filter.policyVersion = input.policyVersion;
  }
  if (input.cellHash !== null && input.cellHash !== undefined) {
    if (!CELL_HASH.test(input.cellHash))
      throw badInput(
        `filter.cellHash must be a cell hash (letters and digits, as Sample.cellHash gives them), got ${quote(input.cellHash)}`,
      );
    filter.cellHash = input.cellHash;
  }
  return filter;
}
