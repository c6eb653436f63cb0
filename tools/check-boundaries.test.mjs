// Self-test of check-boundaries.mjs on a throw-away fixture monorepo with one planted violation per rule.
// Run: node --test tools/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'check-boundaries.mjs');

function fixture(files) {
  const root = mkdtempSync(join(tmpdir(), 'check-boundaries-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

const pkg = (name, tags, dependencies = {}) => ({ name, nx: { tags }, dependencies });
const BASE = {
  'package.json': { workspaces: ['libs/*', 'apps/api', 'apps/agent', 'e2e'] },
  'libs/types/package.json': pkg('@lxdts/types', ['type:lib']),
  'libs/types/src/index.ts': 'export const x = 1;\n',
  'libs/sched/package.json': pkg('@lxdts/sched', ['type:lib', 'pure'], { '@lxdts/types': '*' }),
  'libs/sched/src/index.ts': "import { x } from '@lxdts/types';\nimport { EventEmitter } from 'node:events';\n// import { readFileSync } from 'node:fs';\nexport const y = x;\n",
  'apps/api/package.json': pkg('@lxdts/api', ['type:app'], { '@lxdts/types': '*', kysely: '0.28.19' }),
  'apps/api/src/main.ts': "import { readFileSync } from 'node:fs';\nimport { Kysely } from 'kysely';\nimport { x } from '@lxdts/types';\nimport { z } from './z.js';\n",
  'apps/api/src/z.ts': 'export const z = 1;\n',
  'apps/agent/package.json': pkg('@lxdts/agent', ['type:app']),
  'apps/agent/src/index.ts': 'export {};\n',
  'e2e/package.json': pkg('@lxdts/e2e', ['type:e2e'], { '@lxdts/types': '*' }),
  'e2e/src/a.test.ts': "import { x } from '@lxdts/types';\n",
};

function runOn(root) {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('a clean monorepo passes', () => {
  const root = fixture(BASE);
  try {
    const r = runOn(root);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /5 packages, \d+ files, no violations/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('each planted violation is reported', () => {
  const root = fixture({
    ...BASE,
    'libs/sched/src/bad.ts': [
      "import { readFileSync } from 'node:fs';",
      "import * as os from 'os';",
      "import { Kysely } from 'kysely';",
      "export { spawn } from 'node:child_process';",
      "import { z } from '../../../apps/api/src/z.js';",
      "const m = await import('@lxdts/api');",
      '',
    ].join('\n'),
    'libs/types/src/bad.ts': "import '@lxdts/sched';\nimport '@lxdts/nope';\n",
    'apps/agent/src/bad.ts': "import { x } from '@lxdts/api';\n",
  });
  try {
    const r = runOn(root);
    assert.equal(r.code, 1, r.out);
    for (const want of [
      /libs\/sched\/src\/bad\.ts:1: \[pure-io\].*'node:fs'/,
      /libs\/sched\/src\/bad\.ts:2: \[pure-io\].*'os'/,
      /libs\/sched\/src\/bad\.ts:3: \[pure-io\].*'kysely'/,
      /libs\/sched\/src\/bad\.ts:4: \[pure-io\].*'node:child_process'/,
      /libs\/sched\/src\/bad\.ts:5: \[lib-imports-app\].*relative path into apps/,
      /libs\/sched\/src\/bad\.ts:6: \[lib-imports-app\].*@lxdts\/api is an app/,
      /libs\/sched\/src\/bad\.ts:6: \[undeclared-dependency\]/,
      /libs\/types\/src\/bad\.ts:1: \[undeclared-dependency\].*@lxdts\/sched/,
      /libs\/types\/src\/bad\.ts:2: \[unknown-workspace\]/,
      /apps\/agent\/src\/bad\.ts:1: \[app-imports-app\]/,
    ]) {
      assert.match(r.out, want);
    }
    assert.doesNotMatch(r.out, /sched\/src\/index\.ts/, 'commented-out imports and node:events are fine');
    assert.doesNotMatch(r.out, /apps\/api\/src\/main\.ts/, 'apps may do I/O');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
