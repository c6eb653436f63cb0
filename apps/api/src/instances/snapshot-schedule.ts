// `snapshots.schedule`: when a scheduled snapshot is due. Five-field cron patterns (minute hour day-of-month month
// day-of-week; `*`, lists, ranges, steps, month and day names, as the key's validator accepts) and LXD's aliases,
// several joined with ", "; evaluated in the server's local time, once per minute. `@startup` and `@never` never
// fire here (@startup: a snapshot at each start, instance-snapshot-tasks.ts).
const ALIASES: Record<string, string | null> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@annually': '0 0 1 1 *',
  '@yearly': '0 0 1 1 *',
  '@startup': null,
  '@never': null,
};

const RANGES: readonly [number, number, Record<string, number>?][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12, { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 }],
  [0, 6, { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 }],
];

/** The values a cron field allows (null: unparseable), and whether it was a bare `*`. */
function fieldValues(field: string, [min, max, names]: (typeof RANGES)[number]): { values: Set<number>; star: boolean } | null {
  const num = (s: string): number | null => (names?.[s.toLowerCase()] ?? (/^\d+$/.test(s) ? Number(s) : null));
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) return null;
    let lo: number | null;
    let hi: number | null;
    if (range === '*' || range === '?') [lo, hi] = [min, max];
    else {
      const [a, b] = (range ?? '').split('-');
      lo = num(a ?? '');
      hi = b === undefined ? (stepText === undefined ? lo : max) : num(b);
    }
    if (lo === null || hi === null || lo < min || hi > max || lo > hi) return null;
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star: field === '*' || field === '?' };
}

function cronMatches(pattern: string, at: Date): boolean {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length !== 5) return false;
  const parsed = fields.map((f, i) => fieldValues(f, RANGES[i]!));
  if (parsed.some((p) => p === null)) return false;
  const [minute, hour, dom, month, dow] = parsed as { values: Set<number>; star: boolean }[];
  if (!minute!.values.has(at.getMinutes()) || !hour!.values.has(at.getHours()) || !month!.values.has(at.getMonth() + 1)) return false;
  // Standard cron: with both day fields restricted, either one matching is enough.
  const domOk = dom!.values.has(at.getDate());
  const dowOk = dow!.values.has(at.getDay());
  if (dom!.star || dow!.star) return domOk && dowOk;
  return domOk || dowOk;
}

/** Whether `schedule` (the key's value) fires in the minute of `at`. */
export function scheduleDue(schedule: string, at: Date): boolean {
  for (const trigger of schedule.toLowerCase().split(', ').map((t) => t.trim())) {
    if (trigger === '') continue;
    const pattern = trigger in ALIASES ? ALIASES[trigger] : trigger;
    if (pattern && cronMatches(pattern, at)) return true;
  }
  return false;
}
