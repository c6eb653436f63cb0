// A small subset of pongo2 (Django-style templates, what LXD renders image templates with), enough for the
// templates images ship: /etc/hostname, /etc/hosts, cloud-init seeds.
//
//   {{ expr }}                       expressions: literals ("s", 's', 1, 1.5, true/false/True/False, nil/None),
//                                    variables with dotted paths (container.name, a.0) and subscripts (a["b"]),
//                                    calls (config_get("user.x", "default")), filters (v|default:"x"|upper),
//                                    + - * / %, == != < > <= >= <>, in, not in, and or not && || !, ( )
//   {% if %}{% elif %}{% else %}{% endif %}
//   {% for x in list %} / {% for k, v in map %} [reversed] [sorted] … {% empty %} … {% endfor %}  (forloop.*)
//   {% set x = expr %}  {% with x=expr %}…{% endwith %}  {% include "file" %} (through a loader)
//   {% comment %}…{% endcomment %}  {# … #}  {% verbatim %}…{% endverbatim %}  {% autoescape off %}…{% endautoescape %}
//   {%- -%} {{- -}}                  whitespace control
//
// As LXD renders with `{% autoescape off %}`, nothing is HTML-escaped unless the `escape` filter asks for it.
// Undefined variables render as nothing, as in pongo2. No I/O here: includes go through the caller's loader.

export type TemplateValue =
  | null
  | undefined
  | string
  | number
  | boolean
  | TemplateValue[]
  | { [key: string]: TemplateValue }
  | TemplateFunction;

export type TemplateFunction = (...args: TemplateValue[]) => TemplateValue;

export type TemplateContext = Record<string, TemplateValue>;

export interface RenderOptions {
  /** Reads an included template by name (`{% include "x" %}`); without it, includes fail. */
  load?: (name: string) => string;
  /** Template name for messages. */
  name?: string;
}

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly templateName = '',
  ) {
    super(`${templateName ? `${templateName}:` : 'line '}${line}: ${message}`);
    this.name = 'TemplateError';
  }
}

/** Renders a template string with a context. Throws TemplateError on syntax or evaluation errors. */
export function render(source: string, context: TemplateContext, options: RenderOptions = {}): string {
  const tpl = compile(source, options.name ?? '');
  const out: string[] = [];
  const state: RenderState = { options, depth: 0, budget: { steps: 0, bytes: 0 } };
  renderNodes(tpl, new Scope(context), out, state);
  return out.join('');
}

/** Parses a template once; throws TemplateError on syntax errors. */
export function compile(source: string, name = ''): Node[] {
  return new Parser(lex(source, name), name).parseTemplate();
}

// ---------------------------------------------------------------------------------------------------------------
// Lexer: text, {{ var }}, {% tag %}; comments dropped; whitespace control applied here.

interface TextToken {
  kind: 'text';
  text: string;
  line: number;
}
interface CodeToken {
  kind: 'var' | 'tag';
  code: string;
  line: number;
}
type Token = TextToken | CodeToken;

const OPENERS: Record<string, string> = { '{{': '}}', '{%': '%}', '{#': '#}' };

function lex(src: string, name: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let trimNext = false;
  const lineAt = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (src.charCodeAt(i) === 10) line++;
  };
  const pushText = (text: string, at: number) => {
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (text) tokens.push({ kind: 'text', text, line: at });
  };
  while (pos < src.length) {
    const next = src.slice(pos).search(/\{[{%#]/);
    if (next < 0) {
      pushText(src.slice(pos), line);
      break;
    }
    const start = pos + next;
    const opener = src.slice(start, start + 2);
    const closer = OPENERS[opener]!;
    const end = src.indexOf(closer, start + 2);
    if (end < 0) throw new TemplateError(`'${opener}' is not closed`, line + countLines(src, pos, start), name);
    let text = src.slice(pos, start);
    let inner = src.slice(start + 2, end);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    const trimAfter = inner.endsWith('-');
    if (trimAfter) inner = inner.slice(0, -1);
    const textLine = line;
    pushText(text, textLine);
    lineAt(pos, start);
    const codeLine = line;
    lineAt(start, end);
    pos = end + 2;
    trimNext = trimAfter;
    if (opener === '{#') continue;
    const code = inner.trim();
    if (opener === '{%' && code === 'verbatim') {
      const m = /\{%-?\s*endverbatim\s*-?%\}/.exec(src.slice(pos));
      if (!m) throw new TemplateError("'verbatim' without 'endverbatim'", codeLine, name);
      const raw = src.slice(pos, pos + m.index);
      pushText(raw, line);
      lineAt(pos, pos + m.index + m[0].length);
      trimNext = m[0].includes('-%}');
      pos += m.index + m[0].length;
      continue;
    }
    tokens.push({ kind: opener === '{{' ? 'var' : 'tag', code, line: codeLine });
  }
  return tokens;
}

function countLines(src: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (src.charCodeAt(i) === 10) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions

type Expr =
  | { t: 'lit'; v: TemplateValue }
  | { t: 'name'; name: string }
  | { t: 'attr'; obj: Expr; key: Expr }
  | { t: 'call'; fn: Expr; args: Expr[] }
  | { t: 'filter'; value: Expr; name: string; arg: Expr | null }
  | { t: 'unary'; op: string; e: Expr }
  | { t: 'bin'; op: string; l: Expr; r: Expr };

interface ExprToken {
  t: 'id' | 'num' | 'str' | 'op' | 'end';
  v: string;
}

const OPERATORS = ['==', '!=', '<>', '<=', '>=', '&&', '||', '<', '>', '+', '-', '*', '/', '%', '!', '(', ')', '[', ']', '.', ',', '|', ':', '='];

function lexExpr(code: string, line: number, name: string): ExprToken[] {
  const out: ExprToken[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let s = '';
      let j = i + 1;
      for (; j < code.length && code[j] !== c; j++) {
        if (code[j] === '\\' && j + 1 < code.length) {
          j++;
          const e = code[j]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else s += code[j];
      }
      if (j >= code.length) throw new TemplateError('unterminated string', line, name);
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(code.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(code.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => code.startsWith(o, i));
    if (!op) throw new TemplateError(`unexpected character '${c}'`, line, name);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'end', v: '' });
  return out;
}

class ExprParser {
  private i = 0;
  constructor(
    private readonly toks: ExprToken[],
    private readonly line: number,
    private readonly name: string,
  ) {}

  error(msg: string): TemplateError {
    return new TemplateError(msg, this.line, this.name);
  }

  peek(): ExprToken {
    return this.toks[this.i]!;
  }

  next(): ExprToken {
    return this.toks[this.i++]!;
  }

  isOp(v: string): boolean {
    const p = this.peek();
    return p.t === 'op' && p.v === v;
  }

  isWord(v: string): boolean {
    const p = this.peek();
    return p.t === 'id' && p.v === v;
  }

  expectOp(v: string): void {
    const p = this.next();
    if (p.t !== 'op' || p.v !== v) throw this.error(`expected '${v}', got '${p.v || 'end'}'`);
  }

  atEnd(): boolean {
    return this.peek().t === 'end';
  }

  ident(): string {
    const p = this.next();
    if (p.t !== 'id') throw this.error(`expected a name, got '${p.v || 'end'}'`);
    return p.v;
  }

  done(): void {
    if (!this.atEnd()) throw this.error(`unexpected '${this.peek().v}'`);
  }

  expression(): Expr {
    return this.or();
  }

  private or(): Expr {
    let l = this.and();
    while (this.isWord('or') || this.isOp('||')) {
      this.next();
      l = { t: 'bin', op: 'or', l, r: this.and() };
    }
    return l;
  }

  private and(): Expr {
    let l = this.not();
    while (this.isWord('and') || this.isOp('&&')) {
      this.next();
      l = { t: 'bin', op: 'and', l, r: this.not() };
    }
    return l;
  }

  private not(): Expr {
    if (this.isWord('not') || this.isOp('!')) {
      this.next();
      return { t: 'unary', op: 'not', e: this.not() };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const l = this.additive();
    const p = this.peek();
    if (p.t === 'op' && ['==', '!=', '<>', '<', '>', '<=', '>='].includes(p.v)) {
      this.next();
      return { t: 'bin', op: p.v === '<>' ? '!=' : p.v, l, r: this.additive() };
    }
    if (this.isWord('in')) {
      this.next();
      return { t: 'bin', op: 'in', l, r: this.additive() };
    }
    if (this.isWord('not') && this.toks[this.i + 1]?.t === 'id' && this.toks[this.i + 1]?.v === 'in') {
      this.i += 2;
      return { t: 'unary', op: 'not', e: { t: 'bin', op: 'in', l, r: this.additive() } };
    }
    return l;
  }

  private additive(): Expr {
    let l = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().v;
      l = { t: 'bin', op, l, r: this.term() };
    }
    return l;
  }

  private term(): Expr {
    let l = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().v;
      l = { t: 'bin', op, l, r: this.unary() };
    }
    return l;
  }

  private unary(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const op = this.next().v;
      return { t: 'unary', op, e: this.unary() };
    }
    return this.filtered();
  }

  private filtered(): Expr {
    let value = this.postfix();
    while (this.isOp('|')) {
      this.next();
      const name = this.ident();
      if (!FILTERS[name]) throw this.error(`filter '${name}' does not exist`);
      let arg: Expr | null = null;
      if (this.isOp(':')) {
        this.next();
        arg = this.postfix();
      }
      value = { t: 'filter', value, name, arg };
    }
    return value;
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const k = this.next();
        if (k.t !== 'id' && k.t !== 'num') throw this.error(`expected an attribute after '.', got '${k.v || 'end'}'`);
        e = { t: 'attr', obj: e, key: { t: 'lit', v: k.t === 'num' ? Number(k.v) : k.v } };
      } else if (this.isOp('[')) {
        this.next();
        const key = this.expression();
        this.expectOp(']');
        e = { t: 'attr', obj: e, key };
      } else if (this.isOp('(')) {
        this.next();
        const args: Expr[] = [];
        if (!this.isOp(')')) {
          args.push(this.expression());
          while (this.isOp(',')) {
            this.next();
            args.push(this.expression());
          }
        }
        this.expectOp(')');
        e = { t: 'call', fn: e, args };
      } else return e;
    }
  }

  private primary(): Expr {
    const p = this.next();
    switch (p.t) {
      case 'str':
        return { t: 'lit', v: p.v };
      case 'num':
        return { t: 'lit', v: Number(p.v) };
      case 'id':
        if (p.v === 'true' || p.v === 'True') return { t: 'lit', v: true };
        if (p.v === 'false' || p.v === 'False') return { t: 'lit', v: false };
        if (p.v === 'nil' || p.v === 'None') return { t: 'lit', v: null };
        return { t: 'name', name: p.v };
      case 'op':
        if (p.v === '(') {
          const e = this.expression();
          this.expectOp(')');
          return e;
        }
        throw this.error(`unexpected '${p.v}'`);
      default:
        throw this.error('unexpected end of expression');
    }
  }
}

function parseExpression(code: string, line: number, name: string): Expr {
  const p = new ExprParser(lexExpr(code, line, name), line, name);
  const e = p.expression();
  p.done();
  return e;
}

// ---------------------------------------------------------------------------------------------------------------
// Template nodes

type Node =
  | { n: 'text'; text: string }
  | { n: 'out'; e: Expr; line: number }
  | { n: 'if'; branches: { cond: Expr | null; body: Node[] }[]; line: number }
  | { n: 'for'; vars: string[]; seq: Expr; reversed: boolean; sorted: boolean; body: Node[]; empty: Node[]; line: number }
  | { n: 'set'; name: string; e: Expr; line: number }
  | { n: 'with'; assigns: [string, Expr][]; body: Node[]; line: number }
  | { n: 'include'; e: Expr; line: number };

/** Tags that only close or split a block: out of place, they are errors of their own. */
const CLOSERS = new Set(['elif', 'else', 'endif', 'empty', 'endfor', 'endwith', 'endcomment', 'endautoescape', 'endverbatim']);

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly name: string,
  ) {}

  parseTemplate(): Node[] {
    return this.parseUntil([]).nodes;
  }

  /** Nodes up to one of the `stops` tags (returned, consumed) or the end of input (end = null). */
  private parseUntil(stops: string[]): { nodes: Node[]; end: { word: string; rest: string; line: number } | null } {
    const nodes: Node[] = [];
    while (this.i < this.tokens.length) {
      const tok = this.tokens[this.i++]!;
      if (tok.kind === 'text') {
        nodes.push({ n: 'text', text: tok.text });
        continue;
      }
      if (tok.kind === 'var') {
        nodes.push({ n: 'out', e: parseExpression(tok.code, tok.line, this.name), line: tok.line });
        continue;
      }
      const m = /^(\w+)\s*([\s\S]*)$/.exec(tok.code);
      if (!m) throw new TemplateError(`malformed tag '${tok.code}'`, tok.line, this.name);
      const word = m[1]!;
      const rest = m[2]!.trim();
      if (stops.includes(word)) return { nodes, end: { word, rest, line: tok.line } };
      if (CLOSERS.has(word)) throw new TemplateError(`unexpected '${word}'`, tok.line, this.name);
      nodes.push(this.tag(word, rest, tok.line));
    }
    return { nodes, end: null };
  }

  private block(open: string, line: number, stops: string[]): { nodes: Node[]; end: { word: string; rest: string; line: number } } {
    const r = this.parseUntil(stops);
    if (!r.end) throw new TemplateError(`'${open}' without '${stops.at(-1)}'`, line, this.name);
    return { nodes: r.nodes, end: r.end };
  }

  private tag(word: string, rest: string, line: number): Node {
    const expr = (code: string) => parseExpression(code, line, this.name);
    switch (word) {
      case 'if': {
        const branches: { cond: Expr | null; body: Node[] }[] = [];
        let cond: Expr | null = expr(rest);
        for (;;) {
          const b = this.block('if', line, ['elif', 'else', 'endif']);
          branches.push({ cond, body: b.nodes });
          if (b.end.word === 'endif') break;
          if (b.end.word === 'else') {
            const e = this.block('if', line, ['endif']);
            branches.push({ cond: null, body: e.nodes });
            break;
          }
          cond = parseExpression(b.end.rest, b.end.line, this.name);
        }
        return { n: 'if', branches, line };
      }
      case 'for': {
        const m = /^([A-Za-z_]\w*)(?:\s*,\s*([A-Za-z_]\w*))?\s+in\s+([\s\S]+?)((?:\s+(?:reversed|sorted))*)$/.exec(rest);
        if (!m) throw new TemplateError(`malformed 'for' tag: '${rest}'`, line, this.name);
        const flags = m[4]!.trim().split(/\s+/);
        const vars = m[2] ? [m[1]!, m[2]] : [m[1]!];
        const seq = expr(m[3]!);
        const b = this.block('for', line, ['empty', 'endfor']);
        const empty = b.end.word === 'empty' ? this.block('for', line, ['endfor']).nodes : [];
        return { n: 'for', vars, seq, reversed: flags.includes('reversed'), sorted: flags.includes('sorted'), body: b.nodes, empty, line };
      }
      case 'set': {
        const m = /^([A-Za-z_]\w*)\s*=\s*([\s\S]+)$/.exec(rest);
        if (!m) throw new TemplateError(`malformed 'set' tag: '${rest}'`, line, this.name);
        return { n: 'set', name: m[1]!, e: expr(m[2]!), line };
      }
      case 'with': {
        const assigns: [string, Expr][] = [];
        // `with a=1 b=x.y` or `with x.y as b`
        const as = /^([\s\S]+?)\s+as\s+([A-Za-z_]\w*)$/.exec(rest);
        if (as) assigns.push([as[2]!, expr(as[1]!)]);
        else {
          const re = /([A-Za-z_]\w*)\s*=\s*((?:"(?:\\.|[^"])*"|'(?:\\.|[^'])*'|[^\s"'])+)/g;
          let consumed = '';
          for (const m of rest.matchAll(re)) {
            assigns.push([m[1]!, expr(m[2]!)]);
            consumed += m[0];
          }
          if (assigns.length === 0 || consumed.replace(/\s/g, '') !== rest.replace(/\s/g, '')) {
            throw new TemplateError(`malformed 'with' tag: '${rest}'`, line, this.name);
          }
        }
        return { n: 'with', assigns, body: this.block('with', line, ['endwith']).nodes, line };
      }
      case 'include':
        return { n: 'include', e: expr(rest), line };
      case 'comment':
        this.block('comment', line, ['endcomment']);
        return { n: 'text', text: '' };
      case 'autoescape': {
        // LXD renders inside `{% autoescape off %}`; both modes are rendered unescaped here.
        if (rest !== 'on' && rest !== 'off') throw new TemplateError(`malformed 'autoescape' tag: '${rest}'`, line, this.name);
        const b = this.block('autoescape', line, ['endautoescape']);
        return { n: 'with', assigns: [], body: b.nodes, line };
      }
      default:
        throw new TemplateError(`tag '${word}' does not exist`, line, this.name);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

class Scope {
  private readonly vars = new Map<string, TemplateValue>();
  constructor(
    private readonly base: TemplateContext,
    private readonly parent?: Scope,
  ) {}

  get(name: string): TemplateValue {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      if (s.vars.has(name)) return s.vars.get(name);
    }
    return Object.hasOwn(this.base, name) ? this.base[name] : undefined;
  }

  set(name: string, v: TemplateValue): void {
    this.vars.set(name, v);
  }

  child(): Scope {
    return new Scope(this.base, this);
  }
}

interface RenderState {
  options: RenderOptions;
  depth: number;
  /** Shared by includes: bounds the work a hostile template can cause. */
  budget: { steps: number; bytes: number };
}

const MAX_INCLUDE_DEPTH = 16;
const MAX_STEPS = 5_000_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

function spend(state: RenderState, line: number, bytes = 0): void {
  state.budget.steps++;
  state.budget.bytes += bytes;
  if (state.budget.steps > MAX_STEPS) throw new TemplateError('template takes too long to render', line, state.options.name);
  if (state.budget.bytes > MAX_OUTPUT) throw new TemplateError('output too large', line, state.options.name);
}

function renderNodes(nodes: Node[], scope: Scope, out: string[], state: RenderState): void {
  for (const node of nodes) {
    switch (node.n) {
      case 'text':
        spend(state, 0, node.text.length);
        out.push(node.text);
        break;
      case 'out': {
        const text = toText(evaluate(node.e, scope, node.line, state));
        spend(state, node.line, text.length);
        out.push(text);
        break;
      }
      case 'if':
        for (const b of node.branches) {
          if (b.cond === null || isTrue(evaluate(b.cond, scope, node.line, state))) {
            renderNodes(b.body, scope, out, state);
            break;
          }
        }
        break;
      case 'for':
        renderFor(node, scope, out, state);
        break;
      case 'set':
        scope.set(node.name, evaluate(node.e, scope, node.line, state));
        break;
      case 'with': {
        const inner = scope.child();
        for (const [k, e] of node.assigns) inner.set(k, evaluate(e, scope, node.line, state));
        renderNodes(node.body, inner, out, state);
        break;
      }
      case 'include': {
        const name = toText(evaluate(node.e, scope, node.line, state));
        if (!state.options.load) throw new TemplateError(`cannot include '${name}': no template loader`, node.line, state.options.name);
        if (state.depth >= MAX_INCLUDE_DEPTH) throw new TemplateError(`include of '${name}' nests too deep`, node.line, state.options.name);
        let text: string;
        try {
          text = state.options.load(name);
        } catch (err) {
          throw new TemplateError(`cannot include '${name}': ${(err as Error).message}`, node.line, state.options.name);
        }
        renderNodes(compile(text, name), scope, out, { options: { ...state.options, name }, depth: state.depth + 1, budget: state.budget });
        break;
      }
    }
  }
}

function renderFor(node: Extract<Node, { n: 'for' }>, scope: Scope, out: string[], state: RenderState): void {
  const seq = evaluate(node.seq, scope, node.line, state);
  let items: [TemplateValue, TemplateValue][];
  if (Array.isArray(seq)) items = seq.map((v, i) => [node.vars.length === 2 ? i : v, v]);
  else if (typeof seq === 'string') items = [...seq].map((c, i) => [node.vars.length === 2 ? i : c, c]);
  else if (isMap(seq)) {
    const keys = Object.keys(seq).sort(); // pongo2 iterates maps in key order
    items = keys.map((k) => [k, seq[k]]);
  } else items = [];
  if (node.sorted && !isMap(seq)) items.sort((a, b) => compareValues(a[0], b[0]));
  if (node.reversed) items.reverse();
  if (items.length === 0) {
    renderNodes(node.empty, scope, out, state);
    return;
  }
  const parentloop = scope.get('forloop');
  items.forEach(([k, v], i) => {
    const inner = scope.child();
    if (node.vars.length === 2) {
      inner.set(node.vars[0]!, k);
      inner.set(node.vars[1]!, v);
    } else inner.set(node.vars[0]!, k);
    inner.set('forloop', {
      Counter: i + 1,
      Counter0: i,
      Revcounter: items.length - i,
      Revcounter0: items.length - i - 1,
      First: i === 0,
      Last: i === items.length - 1,
      Parentloop: parentloop,
    });
    spend(state, node.line);
    renderNodes(node.body, inner, out, state);
  });
}

function isMap(v: TemplateValue): v is { [key: string]: TemplateValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** pongo2's IsTrue: empty strings, zero, false, nil and empty lists/maps are false. */
export function isTrue(v: TemplateValue): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'function') return true;
  return Object.keys(v).length > 0;
}

/** How a value prints (pongo2 prints bools as True/False and Go maps/slices in fmt's style). */
export function toText(v: TemplateValue): string {
  if (v === null || v === undefined || typeof v === 'function') return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(toText).join(' ')}]`;
  return `map[${Object.keys(v)
    .sort()
    .map((k) => `${k}:${toText(v[k])}`)
    .join(' ')}]`;
}

function equal(a: TemplateValue, b: TemplateValue): boolean {
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return a === b;
}

function compareValues(a: TemplateValue, b: TemplateValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = toText(a);
  const y = toText(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function toNumber(v: TemplateValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number.parseFloat(v);
    return Number.isNaN(n) ? 0 : n;
  }
  return 0;
}

function contains(container: TemplateValue, item: TemplateValue): boolean {
  if (typeof container === 'string') return container.includes(toText(item));
  if (Array.isArray(container)) return container.some((x) => equal(x, item));
  if (isMap(container)) return Object.hasOwn(container, toText(item));
  return false;
}

function attribute(obj: TemplateValue, key: TemplateValue): TemplateValue {
  if (Array.isArray(obj) || typeof obj === 'string') {
    const i = typeof key === 'number' ? key : /^\d+$/.test(toText(key)) ? Number(toText(key)) : NaN;
    if (!Number.isInteger(i)) return undefined;
    return typeof obj === 'string' ? obj[i] : obj[i];
  }
  if (isMap(obj)) {
    const k = toText(key);
    return Object.hasOwn(obj, k) ? obj[k] : undefined; // own keys only: never the prototype chain
  }
  return undefined;
}

function evaluate(e: Expr, scope: Scope, line: number, state: RenderState): TemplateValue {
  const ev = (x: Expr) => evaluate(x, scope, line, state);
  switch (e.t) {
    case 'lit':
      return e.v;
    case 'name':
      return scope.get(e.name);
    case 'attr':
      return attribute(ev(e.obj), ev(e.key));
    case 'call': {
      const fn = ev(e.fn);
      if (typeof fn !== 'function') throw new TemplateError('call of something that is not a function', line, state.options.name);
      return fn(...e.args.map(ev));
    }
    case 'filter': {
      const f = FILTERS[e.name]!;
      try {
        return f(ev(e.value), e.arg ? ev(e.arg) : undefined);
      } catch (err) {
        throw new TemplateError(`filter '${e.name}': ${(err as Error).message}`, line, state.options.name);
      }
    }
    case 'unary': {
      const v = ev(e.e);
      if (e.op === 'not') return !isTrue(v);
      return e.op === '-' ? -toNumber(v) : toNumber(v);
    }
    case 'bin': {
      if (e.op === 'and') {
        const l = ev(e.l);
        return isTrue(l) ? isTrue(ev(e.r)) : false;
      }
      if (e.op === 'or') {
        const l = ev(e.l);
        return isTrue(l) ? true : isTrue(ev(e.r));
      }
      const l = ev(e.l);
      const r = ev(e.r);
      switch (e.op) {
        case '==':
          return equal(l, r);
        case '!=':
          return !equal(l, r);
        case '<':
          return compareValues(l, r) < 0;
        case '>':
          return compareValues(l, r) > 0;
        case '<=':
          return compareValues(l, r) <= 0;
        case '>=':
          return compareValues(l, r) >= 0;
        case 'in':
          return contains(r, l);
        case '+':
          if (typeof l === 'number' && typeof r === 'number') return l + r;
          if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
          return toText(l) + toText(r);
        case '-':
          return toNumber(l) - toNumber(r);
        case '*':
          return toNumber(l) * toNumber(r);
        case '/': {
          const d = toNumber(r);
          if (d === 0) throw new TemplateError('division by zero', line, state.options.name);
          const q = toNumber(l) / d;
          return Number.isInteger(toNumber(l)) && Number.isInteger(d) ? Math.trunc(q) : q;
        }
        case '%': {
          const d = toNumber(r);
          if (d === 0) throw new TemplateError('division by zero', line, state.options.name);
          return toNumber(l) % d;
        }
      }
      throw new TemplateError(`unknown operator '${e.op}'`, line, state.options.name);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Filters (pongo2 names and behaviour, a subset)

type Filter = (v: TemplateValue, arg: TemplateValue) => TemplateValue;

const htmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function length(v: TemplateValue): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  return 0;
}

const FILTERS: Record<string, Filter> = {
  default: (v, arg) => (isTrue(v) ? v : arg),
  default_if_none: (v, arg) => (v === null || v === undefined ? arg : v),
  lower: (v) => toText(v).toLowerCase(),
  upper: (v) => toText(v).toUpperCase(),
  capfirst: (v) => {
    const s = toText(v);
    return s.charAt(0).toUpperCase() + s.slice(1);
  },
  title: (v) => toText(v).replace(/\w\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()),
  length: (v) => length(v),
  length_is: (v, arg) => length(v) === toNumber(arg),
  join: (v, arg) => (Array.isArray(v) ? v.map(toText).join(toText(arg)) : toText(v)),
  split: (v, arg) => toText(v).split(toText(arg)),
  first: (v) => (Array.isArray(v) ? v[0] : typeof v === 'string' ? [...v][0] ?? '' : undefined),
  last: (v) => (Array.isArray(v) ? v.at(-1) : typeof v === 'string' ? [...v].at(-1) ?? '' : undefined),
  safe: (v) => v,
  escape: (v) => htmlEscape(toText(v)),
  e: (v) => htmlEscape(toText(v)),
  cut: (v, arg) => toText(v).split(toText(arg)).join(''),
  add: (v, arg) => (typeof v === 'number' && typeof arg === 'number' ? v + arg : toText(v) + toText(arg)),
  integer: (v) => Math.trunc(toNumber(v)),
  float: (v) => toNumber(v),
  yesno: (v, arg) => {
    const [yes = 'yes', no = 'no', maybe] = (arg === undefined ? 'yes,no,maybe' : toText(arg)).split(',');
    if (v === null || v === undefined) return maybe ?? no;
    return isTrue(v) ? yes : no;
  },
  truncatechars: (v, arg) => {
    const s = [...toText(v)];
    const n = toNumber(arg);
    if (s.length <= n) return s.join('');
    return n <= 3 ? '...'.slice(0, n) : `${s.slice(0, n - 3).join('')}...`;
  },
  slice: (v, arg) => {
    const [a, b] = toText(arg).split(':');
    const from = a ? Number.parseInt(a, 10) : undefined;
    const to = b ? Number.parseInt(b, 10) : undefined;
    if (Array.isArray(v)) return v.slice(from, to);
    return [...toText(v)].slice(from, to).join('');
  },
  center: (v, arg) => {
    const s = toText(v);
    const w = toNumber(arg);
    if (s.length >= w) return s;
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  },
  ljust: (v, arg) => toText(v).padEnd(toNumber(arg)),
  rjust: (v, arg) => toText(v).padStart(toNumber(arg)),
  urlencode: (v) => encodeURIComponent(toText(v)),
  striptags: (v) => toText(v).replace(/<[^>]*>/g, ''),
  linebreaksbr: (v) => toText(v).replace(/\r?\n/g, '<br />'),
  wordcount: (v) => toText(v).split(/\s+/).filter(Boolean).length,
  stringformat: (v, arg) => {
    const f = toText(arg);
    return f.replace(/%(-?\d*)([sdvfq%])/g, (_m, width: string, verb: string) => {
      if (verb === '%') return '%';
      let s = verb === 'd' ? String(Math.trunc(toNumber(v))) : verb === 'f' ? toNumber(v).toFixed(6) : verb === 'q' ? JSON.stringify(toText(v)) : toText(v);
      const w = Number.parseInt(width || '0', 10);
      if (w > 0) s = s.padStart(w, width.startsWith('0') ? '0' : ' ');
      else if (w < 0) s = s.padEnd(-w);
      return s;
    });
  },
};

/** Names of the filters this renderer knows (for documentation and tests). */
export const FILTER_NAMES: readonly string[] = Object.keys(FILTERS).sort();
