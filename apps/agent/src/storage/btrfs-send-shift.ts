// Moves the owners carried by a btrfs send stream (v1) by a fixed offset, command by command, without receiving it:
// the btrfs counterpart of tar-owner-shift.ts for optimized backups. lxdts keeps an unprivileged container's files
// unshifted on disk while LXD keeps them shifted by the container's map, so an optimized export shifts up and an
// import of LXD's streams shifts down. Only `chown` commands carry owners; their uid/gid attributes are rewritten
// and the command's crc32c computed again. Everything else passes through byte for byte.
import { Transform, type TransformCallback } from 'node:stream';
import type { OwnerShift } from './tar-owner-shift.js';

const MAGIC = Buffer.from('btrfs-stream\0', 'latin1');
/** Magic and the u32 version. */
const STREAM_HEADER = MAGIC.length + 4;
/** u32 payload length, u16 command, u32 crc32c. */
const COMMAND_HEADER = 10;
const CMD_CHOWN = 19;
const ATTR_UID = 6;
const ATTR_GID = 7;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** btrfs's crc32c of a command: seed 0, no final inversion (the kernel's btrfs_crc32c(0, ...)). */
export function sendCrc32c(data: Buffer): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) crc = (CRC_TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return crc >>> 0;
}

/**
 * A Transform that adds `direction * base` to every uid/gid of a chown command inside [from, from + range), where
 * `from` is 0 shifting up and the shift's base shifting down.
 */
export function shiftSendStream(shift: OwnerShift, direction: 'up' | 'down'): Transform {
  let pending: Buffer = Buffer.alloc(0);
  let headerSeen = false;
  const move = (id: bigint, base: number): bigint => {
    const b = BigInt(base);
    const range = BigInt(shift.range);
    if (direction === 'up') return id < range ? id + b : id;
    return id >= b && id < b + range ? id - b : id;
  };
  const rewrite = (command: Buffer): void => {
    if (command.readUInt16LE(4) !== CMD_CHOWN) return;
    for (let at = COMMAND_HEADER; at + 4 <= command.length; ) {
      const type = command.readUInt16LE(at);
      const len = command.readUInt16LE(at + 2);
      if ((type === ATTR_UID || type === ATTR_GID) && len === 8) {
        const value = command.readBigUInt64LE(at + 4);
        command.writeBigUInt64LE(move(value, type === ATTR_UID ? shift.uid : shift.gid), at + 4);
      }
      at += 4 + len;
    }
    command.writeUInt32LE(0, 6);
    command.writeUInt32LE(sendCrc32c(command), 6);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const out: Buffer[] = [];
      if (!headerSeen) {
        if (pending.length < STREAM_HEADER) return done();
        if (!pending.subarray(0, MAGIC.length).equals(MAGIC)) return done(new Error('Not a btrfs send stream'));
        out.push(pending.subarray(0, STREAM_HEADER));
        pending = pending.subarray(STREAM_HEADER);
        headerSeen = true;
      }
      let at = 0;
      while (pending.length - at >= COMMAND_HEADER) {
        const size = COMMAND_HEADER + pending.readUInt32LE(at);
        if (pending.length - at < size) break;
        const command = pending.subarray(at, at + size);
        if (command.readUInt16LE(4) === CMD_CHOWN) {
          const copy = Buffer.from(command);
          rewrite(copy);
          out.push(copy);
        } else {
          out.push(command);
        }
        at += size;
      }
      pending = Buffer.from(pending.subarray(at));
      done(null, out.length === 1 ? out[0] : Buffer.concat(out));
    },
    flush(done: TransformCallback) {
      if (pending.length) return done(new Error('Truncated btrfs send stream'));
      done();
    },
  });
}
