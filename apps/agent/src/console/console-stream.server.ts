// `GET /instances/:lxcName/console` with `Upgrade: lxdts-console`: one ConsoleSession per connection. Closing
// detaches every session; the containers keep running.
import { AGENT_CONSOLE_UPGRADE } from '@lxdts/api-types';
import { UpgradeStreamServer } from '../server/upgrade-stream.server.js';
import { ConsoleSession, type ConsoleSessionDeps } from './console-session.js';

export class ConsoleStreamServer extends UpgradeStreamServer<ConsoleSession> {
  constructor(deps: ConsoleSessionDeps) {
    super({
      segment: 'console',
      upgrade: AGENT_CONSOLE_UPGRADE,
      open: (socket, lxcName, onClosed) => new ConsoleSession(socket, lxcName, deps, onClosed),
    });
  }
}
