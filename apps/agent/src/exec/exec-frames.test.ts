// The exec stream's framing (libs/api-types agent-exec.ts) and the pty output translation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_EXEC_MAX_FRAME, AgentExecFrameDecoder, AgentExecFrameKind, encodeAgentExecFrame, encodeAgentExecJson } from '@lxdts/api-types';
import { OnlcrReverser } from './pty-output.js';

test('frames: header layout, split and merged chunks, JSON payloads', () => {
  const a = encodeAgentExecFrame(AgentExecFrameKind.Data, 2, Buffer.from('hello'));
  assert.deepEqual([...a.subarray(0, 6)], [2, 2, 0, 0, 0, 5]);
  const b = encodeAgentExecJson(AgentExecFrameKind.Exit, { exitCode: 7 });
  const c = encodeAgentExecFrame(AgentExecFrameKind.Eof, 1);
  const all = Buffer.concat([a, b, c]);
  // Every split point gives the same frames.
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new AgentExecFrameDecoder();
    const frames = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
    assert.equal(frames.length, 3);
    assert.equal(frames[0]?.payload.toString(), 'hello');
    assert.equal(frames[0]?.stream, 2);
    assert.deepEqual(JSON.parse(frames[1]?.payload.toString() ?? ''), { exitCode: 7 });
    assert.equal(frames[2]?.kind, AgentExecFrameKind.Eof);
    assert.equal(frames[2]?.payload.length, 0);
    assert.equal(d.buffered, 0);
  }
  // Byte by byte.
  const d = new AgentExecFrameDecoder();
  let n = 0;
  for (const byte of all) n += d.push(Buffer.from([byte])).length;
  assert.equal(n, 3);
});

test('frames: unknown kinds and oversized lengths are refused', () => {
  assert.throws(() => new AgentExecFrameDecoder().push(Buffer.from([9, 0, 0, 0, 0, 0])), /Unknown exec frame kind 9/);
  const big = Buffer.alloc(6);
  big.writeUInt8(AgentExecFrameKind.Data, 0);
  big.writeUInt32BE(AGENT_EXEC_MAX_FRAME + 1, 2);
  assert.throws(() => new AgentExecFrameDecoder().push(big), /too large/);
});

test('pty output: one CR before each LF is dropped, across chunk boundaries', () => {
  const undo = (chunks: string[]) => {
    const r = new OnlcrReverser();
    return Buffer.concat([...chunks.map((c) => r.push(Buffer.from(c, 'latin1'))), r.flush()]).toString('latin1');
  };
  assert.equal(undo(['30 100\r\r\n']), '30 100\r\n');
  assert.equal(undo(['a\r\nb\r\n']), 'a\nb\n');
  assert.equal(undo(['a\r', '\r', '\nb']), 'a\r\nb');
  assert.equal(undo(['a\r', 'b']), 'a\rb');
  assert.equal(undo(['x\r']), 'x\r');
  assert.equal(undo(['\x1b[6n\r~ # ']), '\x1b[6n\r~ # ');
  const plain = Buffer.from('no carriage returns');
  assert.equal(new OnlcrReverser().push(plain), plain);
});
