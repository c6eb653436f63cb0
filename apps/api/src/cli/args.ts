/** Minimal flag parser: `--name value`, `--name=value`, boolean `--flag`; the rest are positionals. */
export function parseArgs(argv: string[], booleans: readonly string[]): { flags: Record<string, string | boolean>; positionals: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m || a === '-') {
      positionals.push(a);
      continue;
    }
    const name = m[1]!;
    if (m[2] !== undefined) flags[name] = m[2];
    else if (booleans.includes(name)) flags[name] = true;
    else flags[name] = argv[++i] ?? '';
  }
  return { flags, positionals };
}
