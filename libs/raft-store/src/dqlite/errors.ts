// Typed errors of the dqlite client. Callers decide on retries by class (or by `code` for SQLite errors).
import { SqliteCode } from './protocol-codes.js';

/** A FAILURE response: `code` is a SQLite (extended) result code, `message` the server's text. */
export class DqliteError extends Error {
  override readonly name: string = 'DqliteError';

  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  /** The primary result code (extended codes carry it in the low byte, e.g. SQLITE_BUSY_SNAPSHOT → SQLITE_BUSY). */
  get primaryCode(): number {
    return this.code & 0xff;
  }

  /** Made from a FAILURE response; picks the subclass for the codes that drive retries. */
  static fromFailure(code: number, message: string): DqliteError {
    if (code === SqliteCode.NotLeader) return new NotLeaderError(message);
    if (code === SqliteCode.LeadershipLost) return new LeadershipLostError(message);
    return new DqliteError(code, message);
  }
}

/** The node is not (or no longer) the leader; the request was not applied, so it is safe to retry elsewhere. */
export class NotLeaderError extends DqliteError {
  override readonly name = 'NotLeaderError';

  constructor(message = 'not leader') {
    super(SqliteCode.NotLeader, message);
  }
}

/** Leadership was lost while a commit was replicating: it may or may not have been applied. */
export class LeadershipLostError extends DqliteError {
  override readonly name = 'LeadershipLostError';

  constructor(message = 'leadership lost') {
    super(SqliteCode.LeadershipLost, message);
  }
}

/** A request got no answer in time. The connection it was sent on is destroyed (its state is unknown). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** The connection failed or closed (before or during a request). */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';

  constructor(
    message: string,
    /** True when the failing request may have reached the server (its effect is unknown). */
    readonly maybeApplied: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No node named a reachable leader before the deadline. */
export class NoLeaderError extends Error {
  override readonly name = 'NoLeaderError';
}

/** The server sent something this client cannot decode, or a value cannot be encoded. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** SQLITE_BUSY and its extended forms: another write transaction (or membership change) is in progress. */
export function isBusy(err: unknown): boolean {
  return err instanceof DqliteError && err.primaryCode === SqliteCode.Busy;
}
