// Types for cell-layout.js, which the browser loads as it is (no build step) and the tests import.

export type BlockInput =
  | readonly [opA: string, inputA: number, opB: string, inputB: number, combine: string]
  | { readonly opA: string; readonly inputA: number; readonly opB: string; readonly inputB: number; readonly combine: string };

export interface NormalBlock {
  opA: string;
  inputA: number;
  opB: string;
  inputB: number;
  combine: 'add' | 'concat';
}

export interface Size {
  width: number;
  height: number;
}

export interface Sizes {
  pad: number;
  rowGap: number;
  op: Size;
  opGap: number;
  slotGap: number;
  combine: Size;
  combineConcat: Size;
  input: Size;
  output: Size;
}

export interface LayoutNode extends Size {
  id: string;
  kind: 'input' | 'op' | 'combine' | 'output';
  label: string;
  /** A longer description (hover text). */
  title: string;
  /** Centre. */
  x: number;
  y: number;
  /** Hidden state this node produces (inputs and combines). */
  state?: number;
  block?: number;
  side?: 'A' | 'B';
  op?: string;
  /** Hidden state an op reads. */
  input?: number;
  combine?: 'add' | 'concat';
}

export interface LayoutEdge {
  from: string;
  to: string;
  /** SVG path data, from the top of `from` to the bottom of `to`. */
  path: string;
}

export interface CellLayout {
  width: number;
  height: number;
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  /** The hidden states the output concatenates. */
  outputs: number[];
  /** Block levels above the inputs. */
  levels: number;
}

export const OP_LABELS: Readonly<Record<string, string>>;
export const SIZES: Readonly<Sizes>;
export function stateName(state: number): string;
export function stateNodeId(state: number): string;
export function normalizeBlocks(blocks: readonly BlockInput[]): NormalBlock[];
export function unusedStates(blocks: readonly NormalBlock[]): number[];
export function layoutCell(blocks: readonly BlockInput[], concat?: readonly number[] | null, sizes?: Sizes): CellLayout;
