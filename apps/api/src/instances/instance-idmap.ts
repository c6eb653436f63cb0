// The volatile.idmap.* and volatile.last_state.idmap keys LXD records for a container, in its JSON form (Go's
// idmap.IdmapEntry fields). Containers here never need a remap of their files (the rootfs is an idmapped mount),
// so at start the recorded on-disk map simply becomes the map in use.
import type { AgentIdmap } from '@lxdts/api-types';

/** `[{"Isuid":true,...},{"Isgid":true,...}]` for a shared map; `[]` for a privileged container (no map). */
export function idmapJson(map: AgentIdmap | null): string {
  if (!map) return '[]';
  return JSON.stringify([
    { Isuid: true, Isgid: false, Hostid: map.uidBase, Nsid: 0, Maprange: map.size },
    { Isuid: false, Isgid: true, Hostid: map.gidBase, Nsid: 0, Maprange: map.size },
  ]);
}

/** Recorded at creation: the map the container will get; its files are not mapped yet. */
export function createdIdmapKeys(map: AgentIdmap | null): Record<string, string> {
  return { 'volatile.idmap.base': '0', 'volatile.idmap.next': idmapJson(map), 'volatile.last_state.idmap': '[]' };
}

/** Recorded at every start: the map in use, which is also the files' map from now on. */
export function startedIdmapKeys(map: AgentIdmap | null): Record<string, string> {
  const json = idmapJson(map);
  return { 'volatile.idmap.base': '0', 'volatile.idmap.current': json, 'volatile.idmap.next': json, 'volatile.last_state.idmap': json };
}
