/**
 * Checks on job props, kept apart from the builders. Every message names the prop, the rule and
 * the value received, so a failing synth says what to change. Values that are still unresolved
 * CDKTF tokens are skipped: a reference has no value until Terraform runs.
 */
import { Token } from "cdktf";

/** Thrown when a job's props break a rule; `code` is stable, the message is for people. */
export class JobValidationError extends Error {
  public readonly code: string;
  public readonly jobName: string;

  public constructor(code: string, jobName: string, message: string) {
    super(`[${code}] job "${jobName}": ${message}`);
    this.name = "JobValidationError";
    this.code = code;
    this.jobName = jobName;
  }
}

/** A rule: a condition on the props and the message to give when it does not hold. */
export interface Rule<P> {
  readonly code: string;
  readonly holds: (props: P) => boolean;
  readonly message: (props: P) => string;
}

/** Applies every rule and throws on the first one broken. */
export function validate<P>(jobName: string, props: P, rules: readonly Rule<P>[]): void {
  for (const rule of rules) {
    if (!rule.holds(props)) {
      throw new JobValidationError(rule.code, jobName, rule.message(props));
    }
  }
}

const unresolved = (value: unknown): boolean =>
  (typeof value === "string" || typeof value === "number") && Token.isUnresolved(value);

/** `prop` must be an integer in [min, max]. */
export function integerInRange<P>(
  prop: string,
  get: (props: P) => number | undefined,
  min: number,
  max: number,
  unit = "",
): Rule<P> {
  const suffix = unit ? ` ${unit}` : "";
  return {
    code: "OutOfRange",
    holds: (props) => {
      const value = get(props);
      return value === undefined || unresolved(value) || (Number.isInteger(value) && value >= min && value <= max);
    },
    message: (props) =>
      `\`${prop}\` must be an integer between ${min} and ${max}${suffix}, but ${String(get(props))} was provided`,
  };
}

/** Nomad job, group, task and Consul service names: lower-case letters, digits and dashes. */
const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** `prop` must be a DNS-safe name (it becomes a Consul service name and a Traefik router name). */
export function dnsName<P>(prop: string, get: (props: P) => string | undefined): Rule<P> {
  return {
    code: "InvalidName",
    holds: (props) => {
      const value = get(props);
      return value === undefined || unresolved(value) || NAME_PATTERN.test(value);
    },
    message: (props) =>
      `\`${prop}\` must match ${NAME_PATTERN} (lower-case letters, digits, dashes; no dots), ` +
      `but "${String(get(props))}" was provided`,
  };
}

/** `prop` must start with a slash. */
export function absolutePath<P>(prop: string, get: (props: P) => string | undefined): Rule<P> {
  return {
    code: "InvalidPath",
    holds: (props) => {
      const value = get(props);
      return value === undefined || unresolved(value) || value.startsWith("/");
    },
    message: (props) => `\`${prop}\` must be an absolute path starting with "/", but "${String(get(props))}" was provided`,
  };
}

/** A free-form condition with its own message. */
export function requires<P>(code: string, holds: (props: P) => boolean, message: (props: P) => string): Rule<P> {
  return { code, holds, message };
}
