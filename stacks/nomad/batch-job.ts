/**
 * A parameterized batch job: registered once, run on demand with `nomad job dispatch`, each
 * dispatch taking its knobs from `-meta key=value` (falling back to the job's `Meta` defaults).
 */
import type { Job, Template } from "./model.js";
import { seconds } from "./model.js";
import { driverOf, programConfig, type ProgramProps } from "./program.js";
import { resources, type ResourceProps } from "./service-job.js";
import { dnsName, integerInRange, requires, validate, type Rule } from "./validation.js";

export interface ParameterizedBatchJobProps {
  /** Job, group and task name. */
  readonly name: string;
  readonly region: string;
  readonly datacenters: readonly string[];
  readonly program: ProgramProps;
  /**
   * Dispatch parameters and their defaults. Tasks read them as `${NOMAD_META_<key>}`.
   */
  readonly parameters: Readonly<Record<string, string>>;
  /**
   * Plain environment.
   *
   * @default - none
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Files rendered before the task starts.
   *
   * @default - none
   */
  readonly templates?: readonly Template[];
  readonly resources: ResourceProps;
}

export function parameterizedBatchJob(props: ParameterizedBatchJobProps): Job {
  validate(props.name, props, BATCH_RULES);

  const keys = Object.keys(props.parameters).sort();

  return {
    ID: props.name,
    Name: props.name,
    Type: "batch",
    Region: props.region,
    Datacenters: [...props.datacenters],
    Meta: { ...props.parameters },
    ParameterizedJob: { Payload: "forbidden", MetaOptional: keys },
    TaskGroups: [
      {
        Name: props.name,
        Count: 1,
        // A campaign that fails is reported, not retried: a rerun would skew the results.
        RestartPolicy: { Attempts: 0, Interval: seconds(60), Delay: seconds(5), Mode: "fail" },
        ReschedulePolicy: {
          Attempts: 0,
          Interval: 0,
          Delay: seconds(5),
          DelayFunction: "constant",
          MaxDelay: seconds(5),
          Unlimited: false,
        },
        Tasks: [
          {
            Name: props.name,
            Driver: driverOf(props.program.artifact),
            Config: programConfig(props.program),
            ...(props.env ? { Env: { ...props.env } } : {}),
            ...(props.templates && props.templates.length > 0 ? { Templates: [...props.templates] } : {}),
            Resources: resources(props.resources),
            KillTimeout: seconds(30),
          },
        ],
      },
    ],
  };
}

const BATCH_RULES: readonly Rule<ParameterizedBatchJobProps>[] = [
  dnsName("name", (p) => p.name),
  integerInRange("resources.cpu", (p) => p.resources.cpu, 20, 20_000, "MHz"),
  integerInRange("resources.memoryMiB", (p) => p.resources.memoryMiB, 16, 65_536, "MiB"),
  requires(
    "InvalidParameterName",
    (p) => Object.keys(p.parameters).every((k) => /^[a-z][a-z0-9_]*$/.test(k)),
    (p) =>
      "`parameters` keys must be lower-case identifiers (they become NOMAD_META_<key>), but got " +
      Object.keys(p.parameters)
        .map((k) => `"${k}"`)
        .join(", "),
  ),
];
