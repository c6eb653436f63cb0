#!/usr/bin/env node
// Module boundaries of the monorepo, from each workspace's package.json `nx.tags` and `dependencies`:
//   - type:lib never imports an app package (@lxdts/api, @lxdts/agent, … any type:app workspace);
//   - type:app never imports another app;
//   - `pure` packages import no I/O built-ins (fs, net, child_process, http, https, dgram, os, …) nor
//     kysely / better-sqlite3 / execa;
//   - an import of @lxdts/x must be declared in that package's dependencies (or dev/peer dependencies);
//   - relative imports stay inside their own package (no '../../apps/…' from a lib).
// Scans src/**/*.{ts,mts,cts,tsx} of every workspace. Exit 1 with the list of violations.
// Usage: node tools/check-boundaries.mjs [--root DIR]   (default: the repository holding this file)
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const IO_BUILTINS = new Set(['fs', 'fs/promises', 'net', 'child_process', 'http', 'https', 'http2', 'dgram', 'os', 'tls', 'cluster', 'worker_threads', 'readline']);
const IO_PACKAGES = new Set(['kysely', 'better-sqlite3', 'execa']);

function parseArgs(argv) {
  let root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root') root = resolve(argv[++i] ?? '.');
    else if (argv[i].startsWith('--root=')) root = resolve(argv[i].slice(7));
    else if (argv[i] === '-h' || argv[i] === '--help') {
      process.stdout.write('usage: check-boundaries.mjs [--root DIR]\n');
      process.exit(0);
    } else {
      process.stderr.write(`unknown argument ${argv[i]}\n`);
      process.exit(2);
    }
  }
  return { root };
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Workspace folders from the root package.json (plain paths and "dir/*" globs). */
function workspaceDirs(root) {
  const pkg = readJson(join(root, 'package.json'));
  const list = Array.isArray(pkg.workspaces) ? pkg.workspaces : (pkg.workspaces?.packages ?? []);
  const dirs = [];
  for (const w of list) {
    if (w.endsWith('/*')) {
      const base = join(root, w.slice(0, -2));
      if (!existsSync(base)) continue;
      for (const e of readdirSync(base).sort()) if (existsSync(join(base, e, 'package.json'))) dirs.push(join(base, e));
    } else if (existsSync(join(root, w, 'package.json'))) dirs.push(join(root, w));
  }
  return dirs;
}

function sourceFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir).sort()) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|cts|tsx)$/.test(e) && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Blank out comments (keeping line numbers and string contents) so commented-out imports don't count. */
function stripComments(src) {
  let out = '';
  let i = 0;
  let quote = '';
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (quote) {
      out += c;
      if (c === '\\') {
        out += n ?? '';
        i += 2;
        continue;
      }
      if (c === quote) quote = '';
      i++;
    } else if (c === '/' && n === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && n === '*') {
      i += 2;
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) {
        if (src[i] === '\n') out += '\n';
        i++;
      }
      i += 2;
    } else {
      if (c === '"' || c === "'" || c === '`') quote = c;
      out += c;
      i++;
    }
  }
  return out;
}

const IMPORT_RES = [
  /\bimport\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g, // import x from 'm'; import 'm'
  /\bexport\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]/g, // export … from 'm'
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('m')
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // require('m')
];

function importsOf(file) {
  const src = stripComments(readFileSync(file, 'utf8'));
  const found = [];
  for (const re of IMPORT_RES) {
    re.lastIndex = 0;
    let m;
    while ((m = re.exec(src))) found.push({ spec: m[1], line: src.slice(0, m.index).split('\n').length });
  }
  return found.sort((a, b) => a.line - b.line);
}

/** 'node:fs/promises' → 'fs/promises'; '@scope/pkg/sub' → '@scope/pkg'; 'pkg/sub' → 'pkg'. */
function packageOf(spec) {
  const s = spec.startsWith('node:') ? spec.slice(5) : spec;
  const parts = s.split('/');
  return s.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function check(root) {
  const pkgs = workspaceDirs(root).map((dir) => {
    const pkg = readJson(join(dir, 'package.json'));
    const tags = pkg.nx?.tags ?? [];
    const type = (tags.find((t) => t.startsWith('type:')) ?? 'type:?').slice(5);
    const deps = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    return { dir, name: pkg.name, tags, type, pure: tags.includes('pure'), deps };
  });
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const violations = [];
  let files = 0;
  for (const p of pkgs) {
    if (!['app', 'lib', 'e2e'].includes(p.type)) violations.push(`${relative(root, join(p.dir, 'package.json'))}: nx.tags has no type:app|lib|e2e (${JSON.stringify(p.tags)})`);
    for (const file of sourceFiles(join(p.dir, 'src'))) {
      files++;
      for (const { spec, line } of importsOf(file)) {
        const where = `${relative(root, file)}:${line}`;
        const v = (rule, detail) => violations.push(`${where}: [${rule}] ${p.name} imports '${spec}'${detail ? ` — ${detail}` : ''}`);
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (target !== p.dir && !target.startsWith(p.dir + sep)) {
            const rel = relative(root, target);
            if (p.type === 'lib' && rel.split(sep)[0] === 'apps') v('lib-imports-app', 'relative path into apps/');
            else v('relative-outside-package', `resolves to ${rel}, outside ${relative(root, p.dir)}`);
          }
          continue;
        }
        const name = packageOf(spec);
        const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
        if (p.pure && (IO_BUILTINS.has(bare) || (spec.startsWith('node:') && IO_BUILTINS.has(name)) || IO_PACKAGES.has(name))) {
          v('pure-io', 'packages tagged "pure" may not do I/O');
        }
        const target = byName.get(name);
        if (target && target !== p) {
          if (target.type === 'app' && p.type === 'lib') v('lib-imports-app', `${name} is an app`);
          else if (target.type === 'app' && p.type === 'app') v('app-imports-app', `${name} is another app`);
          if (!p.deps.has(name)) v('undeclared-dependency', `add "${name}": "*" to ${relative(root, join(p.dir, 'package.json'))} dependencies`);
        } else if (!target && name.startsWith('@lxdts/')) {
          v('unknown-workspace', `no workspace is named ${name}`);
        }
      }
    }
  }
  return { violations, packages: pkgs.length, files };
}

const { root } = parseArgs(process.argv.slice(2));
const { violations, packages, files } = check(root);
if (violations.length) {
  process.stderr.write(`check-boundaries: ${violations.length} violation(s) in ${packages} packages / ${files} files:\n`);
  for (const v of violations) process.stderr.write(`  ${v}\n`);
  process.exit(1);
}
process.stdout.write(`check-boundaries: ${packages} packages, ${files} files, no violations\n`);
