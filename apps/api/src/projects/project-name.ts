import { badRequest } from '../http/api-error.js';
import { validateEntityName } from '../http/entity-name.js';

/**
 * Project names become parts of host-side names (`<project>_<instance>`), so on top of the common entity-name
 * rules LXD refuses underscores, quotes and the "*" wildcard.
 */
export function validateProjectName(name: string): void {
  validateEntityName('project', name);
  if (name.includes('_')) throw badRequest('Project names may not contain underscores');
  if (name.includes("'") || name.includes('"')) throw badRequest('Project names may not contain quotes');
  if (name === '*') throw badRequest('Reserved project name');
}
