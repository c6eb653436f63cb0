// Parse the YAML printed by the real `lxc` (show / info / monitor output).
import { parse, parseAllDocuments } from 'yaml';

export function parseYaml(text: string): any {
  return parse(text);
}

/** `lxc monitor` (format yaml) prints one YAML document per event, separated by blank lines, without `---`. */
export function parseMonitorYaml(text: string): any[] {
  const docs: any[] = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    if (chunk.trim() === '') continue;
    for (const doc of parseAllDocuments(chunk)) {
      const v = doc.toJS();
      if (v && typeof v === 'object') docs.push(v);
    }
  }
  return docs;
}
