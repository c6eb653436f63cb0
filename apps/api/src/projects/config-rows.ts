// Rebuilding config and device maps from key/value rows, with keys sorted as Go marshals maps (stable ETags).

export type Devices = Record<string, Record<string, string>>;

const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function configMap(rows: readonly { key: string; value: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of [...rows].sort(byKey)) out[r.key] = r.value;
  return out;
}

/** Devices from (device, type, key, value) rows of a devices table left-joined with its config table. */
export function devicesFromRows(rows: readonly { device: string; type: string; key: string | null; value: string | null }[]): Devices {
  const out: Devices = {};
  for (const name of [...new Set(rows.map((r) => r.device))].sort()) {
    const own = rows.filter((r) => r.device === name);
    const entries: { key: string; value: string }[] = [{ key: 'type', value: own[0]!.type }];
    for (const r of own) if (r.key !== null && r.value !== null && r.key !== 'type') entries.push({ key: r.key, value: r.value });
    out[name] = configMap(entries);
  }
  return out;
}
