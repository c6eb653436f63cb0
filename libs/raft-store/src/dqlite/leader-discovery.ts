// Finding the leader, as go-dqlite does: ask the known nodes (in parallel here) who the leader is, connect to it and
// check that it names itself. Only the leader serves SQL and membership changes; followers answer "not leader".
import { NoLeaderError } from './errors.js';
import { type NodeClientOptions, NodeClient } from './node-client.js';
import type { NodeInfo } from './responses.js';
import { sleep } from './retry.js';

export interface LeaderDiscoveryOptions extends NodeClientOptions {
  /** Keep trying (with backoff: 50 ms doubling to 1 s) until this long has passed. Default 10 s. */
  timeoutMs?: number;
}

/** A connection to the node that, when asked, named itself leader. */
export interface LeaderConnection {
  client: NodeClient;
  leader: NodeInfo;
}

async function askLeader(client: NodeClient, timeoutMs: number): Promise<NodeInfo> {
  try {
    return await client.leader(timeoutMs);
  } catch (err) {
    client.close();
    throw err;
  }
}

/** Connects to `address` and follows its answer to the leader; throws when this path does not reach one. */
async function probe(address: string, options: NodeClientOptions, probeTimeoutMs: number): Promise<LeaderConnection> {
  const first = await NodeClient.open(address, { ...options, connectTimeoutMs: probeTimeoutMs });
  const named = await askLeader(first, probeTimeoutMs);
  if (named.address === '') {
    first.close();
    throw new NoLeaderError(`${address} knows no leader`);
  }
  if (named.address === address) return { client: first, leader: named };
  first.close();
  const second = await NodeClient.open(named.address, { ...options, connectTimeoutMs: probeTimeoutMs });
  const confirmed = await askLeader(second, probeTimeoutMs);
  if (confirmed.address !== named.address) {
    second.close();
    throw new NoLeaderError(`${address} named ${named.address} as leader, which names '${confirmed.address}'`);
  }
  return { client: second, leader: confirmed };
}

/** One pass over all addresses at once; the first confirmed leader wins, later winners are closed. */
async function probeAll(
  addresses: readonly string[],
  options: NodeClientOptions,
  probeTimeoutMs: number,
): Promise<LeaderConnection> {
  let decided = false;
  const attempts = addresses.map((a) =>
    probe(a, options, probeTimeoutMs).then((found) => {
      if (decided) found.client.close();
      decided = true;
      return found;
    }),
  );
  try {
    // Resolves with the first fulfilled attempt: the one that set `decided`.
    return await Promise.any(attempts);
  } catch (err) {
    const reasons = (err as AggregateError).errors.map((e: unknown) => (e instanceof Error ? e.message : String(e)));
    throw new NoLeaderError(`no leader found: ${[...new Set(reasons)].join('; ')}`);
  }
}

export async function findLeader(
  addresses: readonly string[],
  options: LeaderDiscoveryOptions = {},
): Promise<LeaderConnection> {
  if (addresses.length === 0) throw new NoLeaderError('no dqlite node addresses configured');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  // A probe must not hang on a dead host for long: the others may already know the answer.
  const probeTimeoutMs = Math.min(options.connectTimeoutMs ?? 2000, 2000);
  // Short first pauses: an election with the default 20 ms latency setting takes ~300-500 ms.
  let delay = 50;
  for (;;) {
    try {
      return await probeAll(addresses, options, probeTimeoutMs);
    } catch (err) {
      if (Date.now() + delay > deadline) {
        throw new NoLeaderError(`${(err as Error).message} (gave up after ${timeoutMs} ms)`, { cause: err });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }
}
