// Warnings about the host raised at daemon start, as LXD does (e.g. containers run unconfined without AppArmor).
import { existsSync } from 'node:fs';
import type { WarningsService } from '../warnings/warnings.service.js';
import { WarningType } from '../warnings/warning-types.js';

export async function raiseHostWarnings(warnings: WarningsService, root = '/'): Promise<void> {
  if (!existsSync(`${root}sys/kernel/security/apparmor`)) {
    await warnings.raise(WarningType.AppArmorNotAvailable, 'AppArmor support has been disabled because of lack of kernel support');
  } else {
    await warnings.resolve(WarningType.AppArmorNotAvailable);
  }
}
