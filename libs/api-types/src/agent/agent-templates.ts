// Image templates (metadata.yaml `templates:`) rendered by the agent into an instance's rootfs before it starts.

/** LXD's template triggers: `create` (first start after creation from an image), `copy` (first start of a copy), `start` (every start). */
export type AgentTemplateTrigger = 'create' | 'copy' | 'start' | 'rename';

/**
 * POST /instances/:lxcName/templates/apply: renders the templates of `<volume>/metadata.yaml` (the volume being the
 * directory holding `rootfsPath`) whose `when` lists one of `triggers`, in the order given, into the rootfs.
 * An instance volume without metadata.yaml renders nothing.
 */
export interface AgentTemplatesApplyRequest {
  /** Absolute path of the instance's rootfs (`<pool>/containers/<lxcName>/rootfs`). */
  rootfsPath: string;
  /** e.g. `['create', 'start']` for the first start after creation, `['start']` afterwards. */
  triggers: AgentTemplateTrigger[];
  /** The `instance` (and deprecated `container`) map of the templates. */
  instance: {
    name: string;
    /** LXD architecture name. */
    architecture: string;
    ephemeral: boolean;
    privileged: boolean;
  };
  /** Expanded config (`config` and `config_get()` in templates). */
  config: Record<string, string>;
  /** Expanded devices (`devices` in templates). */
  devices: Record<string, Record<string, string>>;
}

export interface AgentTemplatesApplyResult {
  /** `<trigger>:<container path>` of each template rendered, in order (create_only skips are not listed). */
  rendered: string[];
}
