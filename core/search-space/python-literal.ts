/**
 * The small part of Python's syntax a DARTS genotype is written in: one call with keyword or
 * positional arguments whose values are numbers, strings, lists, tuples and `range(…)`, an
 * optional `NAME = ` in front and a trailing `#` comment. Enough to paste a line of DARTS's
 * genotypes.py or a search log; nothing is evaluated.
 */
export type PythonValue = number | string | PythonValue[];

export interface PythonCall {
  /** Dotted callee, e.g. `Genotype` or `genotypes.Genotype`. */
  name: string;
  args: Array<{ keyword: string | null; value: PythonValue }>;
  /** The last comment, `#` included, trimmed; null when there is none. */
  comment: string | null;
}

export class PythonSyntaxError extends Error {
  constructor(text: string, offset: number, expected: string) {
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const found = offset >= text.length ? 'the end' : JSON.stringify(text.slice(offset, offset + 12));
    super(`cannot read the DARTS genotype at line ${line}, column ${column}: expected ${expected}, found ${found}`);
    this.name = 'PythonSyntaxError';
  }
}

type Token = { kind: 'name' | 'number' | 'string' | 'punct' | 'end'; text: string; value?: string | number; offset: number };

const TOKEN = /\s+|#[^\n]*|([A-Za-z_][\w.]*)|(-?\d+(?:\.\d+)?)|'([^'\\\n]*)'|"([^"\\\n]*)"|([()[\],=])/y;

function tokenize(text: string): { tokens: Token[]; comment: string | null } {
  const tokens: Token[] = [];
  let comment: string | null = null;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const offset = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new PythonSyntaxError(text, offset, 'a name, number, quoted string or one of ( ) [ ] , =');
    const [whole, name, number, single, double, punct] = match;
    if (whole.startsWith('#')) comment = whole.trim();
    else if (name !== undefined) tokens.push({ kind: 'name', text: name, offset });
    else if (number !== undefined) tokens.push({ kind: 'number', text: number, value: Number(number), offset });
    else if (single !== undefined || double !== undefined)
      tokens.push({ kind: 'string', text: whole, value: single ?? double, offset });
    else if (punct !== undefined) tokens.push({ kind: 'punct', text: punct, offset });
  }
  tokens.push({ kind: 'end', text: '', offset: text.length });
  return { tokens, comment };
}

/** Parses `[NAME =] callee(args)`; throws PythonSyntaxError naming the line and column. */
export function parsePythonCall(text: string): PythonCall {
  const { tokens, comment } = tokenize(text);
  let at = 0;
  const peek = (ahead = 0) => tokens[Math.min(at + ahead, tokens.length - 1)]!;
  const fail = (expected: string): never => {
    throw new PythonSyntaxError(text, peek().offset, expected);
  };
  const take = (punct: string) => (peek().text === punct && peek().kind === 'punct' ? tokens[at++] : fail(`"${punct}"`));
  const takeName = () => (peek().kind === 'name' ? tokens[at++]!.text : fail('a name'));

  const separator = (close: string) => {
    if (peek().text === ',') at++;
    else if (peek().text !== close) fail(`"," or "${close}"`);
  };
  const items = (close: string): PythonValue[] => {
    const out: PythonValue[] = [];
    while (peek().text !== close) {
      out.push(value());
      separator(close);
    }
    take(close);
    return out;
  };
  const value = (): PythonValue => {
    const token = peek();
    if (token.kind === 'number' || token.kind === 'string') return tokens[at++]!.value!;
    if (token.text === '[') return (take('['), items(']'));
    if (token.text === '(') return (take('('), items(')'));
    if (token.kind === 'name' && token.text === 'range') return (takeName(), take('('), range(items(')')));
    return fail('a number, string, list, tuple or range(…)');
  };
  const range = (bounds: PythonValue[]): number[] => {
    const [start, stop] = bounds.length === 1 ? [0, bounds[0]] : bounds;
    if (bounds.length > 2 || !Number.isInteger(start) || !Number.isInteger(stop))
      fail('range(stop) or range(start, stop) of integers');
    return Array.from({ length: Math.max(0, (stop as number) - (start as number)) }, (_, i) => (start as number) + i);
  };

  if (peek().kind === 'name' && peek(1).text === '=') at += 2;
  const name = takeName();
  take('(');
  const args: PythonCall['args'] = [];
  while (peek().text !== ')') {
    const keyword = peek().kind === 'name' && peek(1).text === '=' ? takeName() : null;
    if (keyword !== null) take('=');
    args.push({ keyword, value: value() });
    separator(')');
  }
  take(')');
  if (peek().kind !== 'end') fail('the end of the genotype');
  return { name, args, comment };
}
