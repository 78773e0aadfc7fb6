// Turns a cell layout (cell-layout.js) into an SVG element. Every label goes in through
// textContent: cell data comes from the store, and nothing from it is parsed as markup.

import { layoutCell } from './cell-layout.js';

const SVG = 'http://www.w3.org/2000/svg';

export function svgElement(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

let markers = 0;

/**
 * An `<svg>` of one cell: edges first, nodes over them. `caption` names the cell for screen
 * readers (`<title>`); node titles show the full operation on hover.
 */
export function cellSvg(blocks, concat, caption) {
  const layout = layoutCell(blocks, concat);
  const svg = svgElement('svg', {
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: 'img',
    'data-blocks': layout.nodes.filter((n) => n.kind === 'combine').length,
  });
  const title = svgElement('title');
  title.textContent = caption;
  svg.append(title);
  // Marker ids are document-wide: one per drawing so removing a drawing never breaks another's arrows.
  const markerId = `cell-arrow-${++markers}`;
  const defs = svgElement('defs');
  const marker = svgElement('marker', {
    id: markerId,
    viewBox: '0 0 8 8',
    refX: 7,
    refY: 4,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.append(svgElement('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrow-head' }));
  defs.append(marker);
  svg.append(defs);

  const edges = svgElement('g', { class: 'edges' });
  for (const edge of layout.edges) {
    edges.append(
      svgElement('path', {
        d: edge.path,
        class: 'edge',
        'data-from': edge.from,
        'data-to': edge.to,
        'marker-end': `url(#${markerId})`,
      }),
    );
  }
  svg.append(edges);

  const nodes = svgElement('g', { class: 'nodes' });
  for (const node of layout.nodes) {
    const g = svgElement('g', { class: `node node-${node.kind}`, 'data-kind': node.kind, 'data-node': node.id });
    const hover = svgElement('title');
    hover.textContent = node.title;
    g.append(hover);
    const x = node.x - node.width / 2;
    const y = node.y - node.height / 2;
    const rounded = node.kind === 'combine' ? node.height / 2 : 4;
    g.append(svgElement('rect', { x, y, width: node.width, height: node.height, rx: rounded, ry: rounded }));
    const text = svgElement('text', { x: node.x, y: node.y, 'text-anchor': 'middle', 'dominant-baseline': 'central' });
    text.textContent = node.label;
    g.append(text);
    nodes.append(g);
  }
  svg.append(nodes);
  return svg;
}
