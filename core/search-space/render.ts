import { cellConcat, CELL_NAMES, type CellName, type Genotype } from './genotype.ts';

/** `h[i]`, `h[i-1]`, then `b0` … `b4`: how the renderings name hidden states. */
export function stateName(state: number): string {
  return state === 0 ? 'h[i]' : state === 1 ? 'h[i-1]' : `b${state - 2}`;
}

/** One line per block and one for the output, e.g. `b0 = sep_conv5x5(h[i]) + sep_conv3x3(h[i-1])`. */
export function cellText(genotype: Genotype, cell: CellName): string[] {
  const lines = genotype[cell].map(([opA, inputA, opB, inputB, combine], k) => {
    const a = `${opA}(${stateName(inputA)})`;
    const b = `${opB}(${stateName(inputB)})`;
    return `b${k} = ${combine === 'add' ? `${a} + ${b}` : `concat(${a}, ${b})`}`;
  });
  lines.push(`out = concat(${cellConcat(genotype, cell).map(stateName).join(', ')})`);
  return lines;
}

export function genotypeText(genotype: Genotype): string {
  return CELL_NAMES.map((cell) => [`${cell} cell:`, ...cellText(genotype, cell).map((line) => `  ${line}`)].join('\n')).join(
    '\n',
  );
}

/** Graphviz source drawing one cell like the paper's figures: inputs, ops, combines, output. */
export function cellDot(genotype: Genotype, cell: CellName): string {
  const lines = [
    `digraph ${cell} {`,
    '  rankdir=BT;',
    '  node [fontname="Helvetica", fontsize=11, style=filled];',
    '  h0 [label="h[i]", shape=box, fillcolor="#9ecae1"];',
    '  h1 [label="h[i-1]", shape=box, fillcolor="#9ecae1"];',
  ];
  const node = (state: number) => (state < 2 ? `h${state}` : `b${state - 2}`);
  genotype[cell].forEach(([opA, inputA, opB, inputB, combine], k) => {
    lines.push(`  b${k} [label="${combine === 'add' ? 'add' : 'concat'}", shape=circle, fillcolor="#bcbddc"];`);
    for (const [side, op, input] of [
      ['a', opA, inputA],
      ['b', opB, inputB],
    ] as const) {
      lines.push(`  b${k}${side} [label="${op}", shape=box, fillcolor="#fdd0a2"];`);
      lines.push(`  ${node(input)} -> b${k}${side};`);
      lines.push(`  b${k}${side} -> b${k};`);
    }
  });
  lines.push('  out [label="concat", shape=box, fillcolor="#a1d99b"];');
  for (const state of cellConcat(genotype, cell)) lines.push(`  ${node(state)} -> out;`);
  lines.push('}');
  return lines.join('\n');
}

const DARTS_OP_NAMES: Record<string, string> = {
  identity: 'skip_connect',
  conv1x3_3x1: 'conv_1x3_3x1',
  conv1x7_7x1: 'conv_7x1_1x7',
  dil_conv3x3: 'dil_conv_3x3',
  avg_pool3x3: 'avg_pool_3x3',
  max_pool3x3: 'max_pool_3x3',
  max_pool5x5: 'max_pool_5x5',
  max_pool7x7: 'max_pool_7x7',
  conv1x1: 'conv_1x1',
  conv3x3: 'conv_3x3',
  sep_conv3x3: 'sep_conv_3x3',
  sep_conv5x5: 'sep_conv_5x5',
  sep_conv7x7: 'sep_conv_7x7',
};

/**
 * The DARTS genotype: two `(op, input)` pairs per block with DARTS's op names, and the
 * concat lists. DARTS always adds a node's two inputs; blocks that concatenate are listed
 * in `concatBlocks` so nothing is silently lost.
 */
export function toDarts(genotype: Genotype): {
  normal: Array<[string, number]>;
  normal_concat: number[];
  reduce: Array<[string, number]>;
  reduce_concat: number[];
  concatBlocks: { normal: number[]; reduce: number[] };
} {
  const pairs = (cell: CellName) =>
    genotype[cell].flatMap(
      ([opA, inputA, opB, inputB]): Array<[string, number]> => [
        [DARTS_OP_NAMES[opA]!, inputA],
        [DARTS_OP_NAMES[opB]!, inputB],
      ],
    );
  const concatBlocks = (cell: CellName) => genotype[cell].flatMap((block, k) => (block[4] === 'concat' ? [k] : []));
  return {
    normal: pairs('normal'),
    normal_concat: cellConcat(genotype, 'normal'),
    reduce: pairs('reduction'),
    reduce_concat: cellConcat(genotype, 'reduction'),
    concatBlocks: { normal: concatBlocks('normal'), reduce: concatBlocks('reduction') },
  };
}

/** DARTS's Python repr: `Genotype(normal=[('sep_conv_5x5', 0), …], normal_concat=[…], reduce=[…], reduce_concat=[…])`. */
export function dartsText(genotype: Genotype): string {
  const darts = toDarts(genotype);
  const list = (pairs: Array<[string, number]>) => `[${pairs.map(([op, input]) => `('${op}', ${input})`).join(', ')}]`;
  const text = `Genotype(normal=${list(darts.normal)}, normal_concat=[${darts.normal_concat.join(', ')}], reduce=${list(darts.reduce)}, reduce_concat=[${darts.reduce_concat.join(', ')}])`;
  const concat = [
    ...darts.concatBlocks.normal.map((k) => `normal b${k}`),
    ...darts.concatBlocks.reduce.map((k) => `reduce b${k}`),
  ];
  return concat.length ? `${text}  # concat, not add: ${concat.join(', ')}` : text;
}
