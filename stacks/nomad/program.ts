/**
 * How a task's program is started under each driver: `raw_exec` runs a binary on the node,
 * `docker` runs an image. Both take the same argument list, so a job reads the same in both
 * targets and only this module knows the drivers' config keys.
 */
import type { Artifact, TaskDriver } from "../config.js";

export interface ProgramProps {
  /** The binary (raw_exec) or image (docker) to run. */
  readonly artifact: Artifact;
  /** Arguments; Nomad interpolates `${NOMAD_*}` inside them. */
  readonly args?: readonly string[];
  /**
   * For images: the entrypoint binary to run instead of the image's own command.
   *
   * @default - the image's entrypoint and command receive `args`
   */
  readonly command?: string;
  /**
   * Docker only: share the node's network namespace (static ports, loopback shared with the node).
   *
   * @default false
   */
  readonly hostNetwork?: boolean;
  /**
   * Docker only: port labels of the group network to publish into the container.
   *
   * @default - none
   */
  readonly portLabels?: readonly string[];
}

/** The driver a given artifact needs. */
export const driverOf = (artifact: Artifact): TaskDriver => (artifact.kind === "binary" ? "raw_exec" : "docker");

/** Renders the driver's `Config` map. */
export function programConfig(props: ProgramProps): Record<string, unknown> {
  const args = props.args ? [...props.args] : undefined;
  if (props.artifact.kind === "binary") {
    return { command: props.command ?? props.artifact.path, ...(args ? { args } : {}) };
  }
  return {
    image: props.artifact.image,
    ...(props.command ? { command: props.command } : {}),
    ...(args ? { args } : {}),
    ...(props.hostNetwork ? { network_mode: "host" } : {}),
    ...(props.portLabels && props.portLabels.length > 0 && !props.hostNetwork ? { ports: [...props.portLabels] } : {}),
  };
}
