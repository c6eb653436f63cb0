// The agent's template endpoint: POST /instances/:lxcName/templates/apply (see AgentTemplatesApplyRequest).
import type { AgentTemplateTrigger, AgentTemplatesApplyRequest } from '@lxdts/api-types';
import { badRequest } from '../errors.js';
import type { AgentLogger } from '../log.js';
import { asObject, bool, deviceMap, str, stringArray, stringMap } from '../server/body.js';
import type { AgentRoute } from '../server/http-server.js';
import { applyTemplates } from './template-applier.js';

export function decodeTemplatesApply(body: unknown): AgentTemplatesApplyRequest {
  const o = asObject(body ?? {});
  const rootfsPath = str(o, 'rootfsPath');
  const triggers = stringArray(o, 'triggers') as AgentTemplateTrigger[];
  const inst = asObject(o['instance'], '"instance"');
  return {
    rootfsPath,
    triggers,
    instance: {
      name: str(inst, 'name'),
      architecture: str(inst, 'architecture'),
      ephemeral: bool(inst, 'ephemeral', false),
      privileged: bool(inst, 'privileged', false),
    },
    config: stringMap(o, 'config', true),
    devices: deviceMap(o, 'devices'),
  };
}

export function templateRoutes(log?: AgentLogger): AgentRoute[] {
  return [
    {
      method: 'POST',
      path: '/instances/:lxcName/templates/apply',
      handler: async ({ params, body }) => {
        const req = decodeTemplatesApply(body);
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(params['lxcName'] ?? '')) throw badRequest(`Invalid container name "${params['lxcName']}"`);
        const result = await applyTemplates(req);
        if (result.rendered.length) log?.info(`Applied templates to ${params['lxcName']}: ${result.rendered.join(', ')}`);
        return result;
      },
    },
  ];
}
