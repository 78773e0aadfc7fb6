// Lays out one NASNet cell as a graph in the style of the paper's cell figures (Zoph et al.
// 2018, fig. 4): the cell inputs h[i-1] and h[i] at the bottom, each block's two operations as
// boxes feeding its combine node, the output concat at the top. Pure (no DOM), so node's test
// runner checks the geometry and the browser only turns it into SVG (cell-svg.js).

/** Short labels, as the paper's figures write the operations. */
export const OP_LABELS = Object.freeze({
  identity: 'identity',
  conv1x3_3x1: '1x3 + 3x1',
  conv1x7_7x1: '1x7 + 7x1',
  dil_conv3x3: 'dil 3x3',
  avg_pool3x3: 'avg 3x3',
  max_pool3x3: 'max 3x3',
  max_pool5x5: 'max 5x5',
  max_pool7x7: 'max 7x7',
  conv1x1: 'conv 1x1',
  conv3x3: 'conv 3x3',
  sep_conv3x3: 'sep 3x3',
  sep_conv5x5: 'sep 5x5',
  sep_conv7x7: 'sep 7x7',
});

export const SIZES = Object.freeze({
  pad: 14,
  rowGap: 48,
  op: { width: 74, height: 24 },
  opGap: 8,
  slotGap: 20,
  combine: { width: 44, height: 22 },
  combineConcat: { width: 54, height: 22 },
  input: { width: 62, height: 26 },
  output: { width: 66, height: 26 },
});

/** `h[i]`, `h[i-1]`, then `b0` … `b4`, as `nasnet genotype` names hidden states. */
export function stateName(state) {
  return state === 0 ? 'h[i]' : state === 1 ? 'h[i-1]' : `b${state - 2}`;
}

/** The graph node that produces hidden state `state`. */
export function stateNodeId(state) {
  return state < 2 ? `h${state}` : `b${state - 2}`;
}

/**
 * Blocks as the GraphQL API gives them (`{opA, inputA, opB, inputB, combine}`) or as the
 * genotype JSON stores them (`[opA, inputA, opB, inputB, combine]`).
 */
export function normalizeBlocks(blocks) {
  return blocks.map((block, k) => {
    const b = Array.isArray(block)
      ? { opA: block[0], inputA: block[1], opB: block[2], inputB: block[3], combine: block[4] }
      : block;
    for (const input of [b.inputA, b.inputB]) {
      if (!Number.isInteger(input) || input < 0 || input > k + 1)
        throw new RangeError(`block ${k} reads state ${input}, which does not exist yet`);
    }
    return {
      opA: String(b.opA),
      inputA: b.inputA,
      opB: String(b.opB),
      inputB: b.inputB,
      combine: b.combine === 'concat' ? 'concat' : 'add',
    };
  });
}

/** The paper's rule for a cell without a concat list: every block output no block reads. */
export function unusedStates(blocks) {
  const used = new Set();
  for (const b of blocks) {
    used.add(b.inputA);
    used.add(b.inputB);
  }
  return blocks.map((_, k) => k + 2).filter((s) => !used.has(s));
}

function curve(x1, y1, x2, y2) {
  const ym = (y1 + y2) / 2;
  return `M${r(x1)},${r(y1)} C${r(x1)},${r(ym)} ${r(x2)},${r(ym)} ${r(x2)},${r(y2)}`;
}

function r(v) {
  return Math.round(v * 10) / 10;
}

/**
 * Nodes (centre x, y and size) and edges (an SVG path each, drawn upwards from producer to
 * consumer) for one cell. A block sits one level above the higher of its two inputs, so data
 * always flows up; blocks of one level are ordered by where their inputs are, which keeps
 * most edges from crossing.
 */
export function layoutCell(rawBlocks, concat, sizes = SIZES) {
  const blocks = normalizeBlocks(rawBlocks);
  const outputs = concat && concat.length > 0 ? [...concat] : unusedStates(blocks);
  const level = [0, 0];
  blocks.forEach((b, k) => {
    level[k + 2] = 1 + Math.max(level[b.inputA], level[b.inputB]);
  });
  const maxLevel = Math.max(0, ...level);
  const byLevel = Array.from({ length: maxLevel + 1 }, () => []);
  blocks.forEach((_, k) => byLevel[level[k + 2]].push(k));

  const slotWidth = 2 * sizes.op.width + sizes.opGap;
  const levelWidth = (n) => n * slotWidth + Math.max(0, n - 1) * sizes.slotGap;
  const inner = Math.max(
    levelWidth(Math.max(0, ...byLevel.map((ks) => ks.length))),
    2 * sizes.input.width + 3 * sizes.slotGap,
    sizes.output.width,
  );
  const width = inner + 2 * sizes.pad;
  // Rows counted from the bottom: inputs, then an op row and a combine row per level, then the output.
  const topRow = 2 * maxLevel + 1;
  const height = 2 * sizes.pad + topRow * sizes.rowGap + sizes.output.height;
  const rowY = (row) => sizes.pad + sizes.output.height / 2 + (topRow - row) * sizes.rowGap;

  const nodes = [];
  const at = new Map();
  const add = (node) => {
    nodes.push(node);
    at.set(node.id, node);
    return node;
  };
  const x0 = sizes.pad;
  const spread = Math.max(inner * 0.2, sizes.input.width / 2 + sizes.slotGap);
  add({
    id: 'h1',
    kind: 'input',
    label: 'h[i-1]',
    title: 'h[i-1]: the output of the cell before the previous one',
    state: 1,
    x: x0 + inner / 2 - spread,
    y: rowY(0),
    ...sizes.input,
  });
  add({
    id: 'h0',
    kind: 'input',
    label: 'h[i]',
    title: 'h[i]: the output of the previous cell',
    state: 0,
    x: x0 + inner / 2 + spread,
    y: rowY(0),
    ...sizes.input,
  });

  for (let L = 1; L <= maxLevel; L++) {
    const xOf = (state) => at.get(stateNodeId(state)).x;
    const ordered = byLevel[L]
      .map((k) => ({ k, centre: (xOf(blocks[k].inputA) + xOf(blocks[k].inputB)) / 2 }))
      .sort((a, b) => a.centre - b.centre || a.k - b.k);
    let left = x0 + (inner - levelWidth(ordered.length)) / 2;
    for (const { k } of ordered) {
      const b = blocks[k];
      const sides = [
        { side: 'A', op: b.opA, input: b.inputA },
        { side: 'B', op: b.opB, input: b.inputB },
      ];
      // The op whose input lies further left goes on the left: fewer crossings under the block.
      if (xOf(b.inputB) < xOf(b.inputA)) sides.reverse();
      sides.forEach((s, i) => {
        add({
          id: `b${k}${s.side}`,
          kind: 'op',
          label: OP_LABELS[s.op] ?? s.op,
          title: `b${k} ${s.side === 'A' ? 'first' : 'second'} operation: ${s.op}(${stateName(s.input)})`,
          op: s.op,
          block: k,
          side: s.side,
          input: s.input,
          x: left + sizes.op.width / 2 + i * (sizes.op.width + sizes.opGap),
          y: rowY(2 * L - 1),
          ...sizes.op,
        });
      });
      const size = b.combine === 'concat' ? sizes.combineConcat : sizes.combine;
      add({
        id: `b${k}`,
        kind: 'combine',
        label: b.combine,
        title: `b${k} = ${b.combine}(${b.opA}(${stateName(b.inputA)}), ${b.opB}(${stateName(b.inputB)}))`,
        combine: b.combine,
        block: k,
        state: k + 2,
        x: left + slotWidth / 2,
        y: rowY(2 * L),
        ...size,
      });
      left += slotWidth + sizes.slotGap;
    }
  }
  const out = add({
    id: 'out',
    kind: 'output',
    label: 'concat',
    title: `output = concat(${outputs.map(stateName).join(', ')})`,
    x: x0 + inner / 2,
    y: rowY(topRow),
    ...sizes.output,
  });

  // Each edge leaves its producer's top and enters its consumer's bottom. Where several leave
  // one node (or enter the output), their ends sit side by side in the order of the other
  // end's x, so they neither cross at the node nor merge into one line.
  const links = [];
  for (const node of nodes) {
    if (node.kind !== 'op') continue;
    links.push({ from: at.get(stateNodeId(node.input)), to: node });
    links.push({ from: node, to: at.get(`b${node.block}`) });
  }
  for (const s of outputs) links.push({ from: at.get(stateNodeId(s)), to: out });
  const fan = (node, ends, otherX) => {
    const sorted = [...ends].sort((a, b) => otherX(a) - otherX(b));
    const step = sorted.length > 1 ? Math.min(10, (node.width - 12) / (sorted.length - 1)) : 0;
    const offsets = new Map();
    sorted.forEach((link, i) => offsets.set(link, node.x + (i - (sorted.length - 1) / 2) * step));
    return offsets;
  };
  const startX = new Map();
  const endX = new Map();
  for (const node of nodes) {
    for (const [link, x] of fan(
      node,
      links.filter((l) => l.from === node),
      (l) => l.to.x,
    ))
      startX.set(link, x);
    // An op and a combine have at most two inputs, which meet as in the paper; only the output fans in wide.
    if (node.kind === 'output')
      for (const [link, x] of fan(
        node,
        links.filter((l) => l.to === node),
        (l) => l.from.x,
      ))
        endX.set(link, x);
  }
  const edges = links.map((link) => ({
    from: link.from.id,
    to: link.to.id,
    path: curve(
      startX.get(link),
      link.from.y - link.from.height / 2,
      endX.get(link) ?? link.to.x,
      link.to.y + link.to.height / 2,
    ),
  }));

  return { width, height, nodes, edges, outputs, levels: maxLevel };
}
