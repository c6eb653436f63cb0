// The `filter` query language of list endpoints (rest-api.md "Filtering", extension api_filtering):
//   name eq c1 and not status eq Running or config.image.os eq "Debian GNU"
// Operators eq / ne, combinators not / and / or (left associative), quoted values, parentheses.
import { badRequest } from './api-error.js';

export type FilterExpr =
  | { kind: 'clause'; field: string; op: 'eq' | 'ne'; value: string }
  | { kind: 'not'; expr: FilterExpr }
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr };

function tokenize(input: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push(c);
      i++;
    } else if (c === '"' || c === "'") {
      const end = input.indexOf(c, i + 1);
      if (end < 0) throw badRequest(`Invalid filter: unterminated quote`);
      tokens.push('\u0000' + input.slice(i + 1, end)); // marks a quoted literal
      i = end + 1;
    } else {
      let j = i;
      while (j < input.length && !/[\s()]/.test(input[j]!)) j++;
      tokens.push(input.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

export function parseFilter(input: string): FilterExpr | null {
  if (input.trim() === '') return null;
  const tokens = tokenize(input);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => {
    const t = tokens[pos++];
    if (t === undefined) throw badRequest(`Invalid filter "${input}": unexpected end`);
    return t;
  };
  const literal = (t: string) => (t.startsWith('\u0000') ? t.slice(1) : t);
  const primary = (): FilterExpr => {
    const t = next();
    if (t.toLowerCase() === 'not') return { kind: 'not', expr: primary() };
    if (t === '(') {
      const e = expr();
      if (next() !== ')') throw badRequest(`Invalid filter "${input}": missing ")"`);
      return e;
    }
    const op = next().toLowerCase();
    if (op !== 'eq' && op !== 'ne') throw badRequest(`Invalid filter "${input}": unknown operator "${op}"`);
    return { kind: 'clause', field: literal(t), op, value: literal(next()) };
  };
  const expr = (): FilterExpr => {
    let left = primary();
    for (;;) {
      const t = peek()?.toLowerCase();
      if (t !== 'and' && t !== 'or') return left;
      pos++;
      left = { kind: t, left, right: primary() };
    }
  };
  const result = expr();
  if (pos !== tokens.length) throw badRequest(`Invalid filter "${input}": unexpected "${literal(tokens[pos]!)}"`);
  return result;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** Resolves `config.image.os` against `{config: {"image.os": ...}}`: map keys may themselves contain dots. */
function resolve(obj: unknown, path: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  const rec = obj as Record<string, unknown>;
  if (path in rec) return rec[path];
  const dot = path.indexOf('.');
  const head = dot < 0 ? path : path.slice(0, dot);
  const key = Object.keys(rec).find((k) => k === head || k.toLowerCase() === head.toLowerCase() || k === snake(head));
  if (key === undefined) return undefined;
  return dot < 0 ? rec[key] : resolve(rec[key], path.slice(dot + 1));
}

function valueMatches(actual: unknown, wanted: string): boolean {
  if (actual === undefined || actual === null) return wanted === '';
  const text = typeof actual === 'object' ? JSON.stringify(actual) : String(actual);
  if (text === wanted) return true;
  try {
    return new RegExp(`^(?:${wanted})$`).test(text);
  } catch {
    return false;
  }
}

export function matchesFilter(obj: unknown, expr: FilterExpr | null): boolean {
  if (!expr) return true;
  switch (expr.kind) {
    case 'clause': {
      const hit = valueMatches(resolve(obj, expr.field), expr.value);
      return expr.op === 'eq' ? hit : !hit;
    }
    case 'not':
      return !matchesFilter(obj, expr.expr);
    case 'and':
      return matchesFilter(obj, expr.left) && matchesFilter(obj, expr.right);
    case 'or':
      return matchesFilter(obj, expr.left) || matchesFilter(obj, expr.right);
  }
}
