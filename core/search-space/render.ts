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
