// Deciding how to send a SQL text. dqlite 1.11 has two paths: EXEC (no rows; writes are replicated) and QUERY
// (rows). A write sent through QUERY outside an explicit transaction is NOT replicated and the node aborts on the
// next write on that connection (measured: SIGABRT of the node, dqlite 1.11.1); inside BEGIN…COMMIT it is fine,
// because the COMMIT goes through EXEC. So row-returning statements that may write (RETURNING, WITH, PRAGMA, …)
// must run inside a transaction.

/** Drops leading whitespace and SQL comments. */
function stripLeading(sql: string): string {
  let s = sql;
  for (;;) {
    const t = s.trimStart();
    if (t.startsWith('--')) {
      const nl = t.indexOf('\n');
      s = nl < 0 ? '' : t.slice(nl + 1);
    } else if (t.startsWith('/*')) {
      const end = t.indexOf('*/');
      s = end < 0 ? '' : t.slice(end + 2);
    } else {
      return t;
    }
  }
}

export function firstKeyword(sql: string): string {
  return (/^[A-Za-z]+/.exec(stripLeading(sql))?.[0] ?? '').toUpperCase();
}

/** Heuristic: does the (first) statement produce rows? Used for raw SQL whose shape is unknown. */
export function returnsRows(sql: string): boolean {
  const kw = firstKeyword(sql);
  if (kw === 'SELECT' || kw === 'VALUES' || kw === 'WITH' || kw === 'PRAGMA' || kw === 'EXPLAIN') return true;
  return /\bRETURNING\b/i.test(sql);
}

/** Only plain SELECT/VALUES/EXPLAIN are known to be read-only; everything else that returns rows may write. */
export function isReadOnlyQuery(sql: string): boolean {
  const kw = firstKeyword(sql);
  return (kw === 'SELECT' || kw === 'VALUES' || kw === 'EXPLAIN') && !/\bRETURNING\b/i.test(sql);
}

/** The server's answer to QUERY on a statement without result columns (nothing was executed). */
export function isNoColumnsFailure(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 1 && err.message === 'not an error';
}
