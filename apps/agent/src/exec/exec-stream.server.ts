// `GET /instances/:lxcName/exec` with `Upgrade: lxdts-exec`: one ExecSession per connection. Closing kills every
// running command.
import { AGENT_EXEC_UPGRADE } from '@lxdts/api-types';
import { UpgradeStreamServer } from '../server/upgrade-stream.server.js';
import { ExecSession, type ExecSessionDeps } from './exec-session.js';

export class ExecStreamServer extends UpgradeStreamServer<ExecSession> {
  constructor(deps: ExecSessionDeps) {
    super({ segment: 'exec', upgrade: AGENT_EXEC_UPGRADE, open: (socket, lxcName, onClosed) => new ExecSession(socket, lxcName, deps, onClosed) });
  }
}
