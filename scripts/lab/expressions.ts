/**
 * Terraform's reading of the strings in a synthesized `cdk.tf.json`, for the lab applier.
 *
 * `$${` and `%%{` are escapes for a literal `${` and `%{`; `${...}` is an expression. The
 * expressions the stacks synthesize are evaluated here, and no others:
 *
 *   var.NAME                              the variable's value (TF_VAR_NAME)
 *   TYPE.NAME.ATTR                        an argument of another resource of the same stack
 *   jsonencode({"key" = EXPR, ...})       an object whose values are the two forms above or
 *                                         quoted strings, as JSON
 *
 * Anything else is refused with where it stands: only Terraform could evaluate it.
 */

/** Looks up `TYPE.NAME.ATTR`; returns undefined when the stack has no such resource. */
export type ReferenceResolver = (type: string, name: string, attribute: string) => string | undefined;

const noReferences: ReferenceResolver = () => undefined;

/** Index of the `"` that closes the quoted string opening at `open` (escapes skipped). */
function closingQuote(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i;
}

/** Index of the `}` that closes the `{` at `open`, skipping quoted strings; -1 if none. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') i = closingQuote(text, i);
    else if (c === "{") depth += 1;
    else if (c === "}") {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

const VARIABLE = /^var\.([A-Za-z0-9_]+)$/;
const REFERENCE = /^([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)$/;
const JSONENCODE = /^jsonencode\(\s*\{([\s\S]*)\}\s*\)$/;
const QUOTED = /^"((?:[^"\\]|\\.)*)"$/;

/** Splits `"a" = x, "b" = "y"` at the commas outside quotes. */
function objectEntries(body: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i]!;
    if (c === '"') {
      const end = closingQuote(body, i);
      current += body.slice(i, end + 1);
      i = end;
    } else if (c === "," || c === "\n") {
      if (current.trim() !== "") parts.push(current.trim());
      current = "";
    } else current += c;
  }
  if (current.trim() !== "") parts.push(current.trim());
  return parts;
}

function evaluate(
  expression: string,
  variables: Readonly<Record<string, string>>,
  where: string,
  reference: ReferenceResolver,
): string {
  const variable = VARIABLE.exec(expression);
  if (variable) {
    const value = variables[variable[1]!];
    if (value === undefined) throw new Error(`${where}: variable "${variable[1]}" has no value; set TF_VAR_${variable[1]}`);
    return value;
  }
  const quoted = QUOTED.exec(expression);
  if (quoted) {
    if (/[$%]\{/.test(quoted[1]!)) throw new Error(`${where}: a template inside an expression (${expression}) is not supported`);
    return JSON.parse(`"${quoted[1]}"`) as string;
  }
  const ref = REFERENCE.exec(expression);
  if (ref) {
    const value = reference(ref[1]!, ref[2]!, ref[3]!);
    if (value === undefined) throw new Error(`${where}: \${${expression}} names no argument of a resource in this stack`);
    return value;
  }
  const encode = JSONENCODE.exec(expression);
  if (encode) {
    const object: Record<string, string> = {};
    for (const entry of objectEntries(encode[1]!)) {
      const match = /^"((?:[^"\\]|\\.)*)"\s*=\s*([\s\S]+)$/.exec(entry);
      if (!match) throw new Error(`${where}: cannot read the jsonencode entry ${JSON.stringify(entry)} without Terraform`);
      object[JSON.parse(`"${match[1]}"`) as string] = evaluate(match[2]!.trim(), variables, where, reference);
    }
    return JSON.stringify(object);
  }
  throw new Error(`${where}: cannot evaluate the Terraform expression \${${expression}} without Terraform`);
}

/** The value Terraform would give `text`. */
export function terraformString(
  text: string,
  variables: Readonly<Record<string, string>>,
  where: string,
  reference: ReferenceResolver = noReferences,
): string {
  let out = "";
  for (let i = 0; i < text.length; i += 1) {
    const three = text.slice(i, i + 3);
    if (three === "$${" || three === "%%{") {
      out += three.slice(1);
      i += 2;
      continue;
    }
    const pair = text.slice(i, i + 2);
    if (pair === "${") {
      const end = closingBrace(text, i + 1);
      if (end < 0) throw new Error(`${where}: unterminated Terraform expression ${JSON.stringify(text.slice(i, i + 40))}`);
      out += evaluate(text.slice(i + 2, end).trim(), variables, where, reference);
      i = end;
      continue;
    }
    if (pair === "%{") throw new Error(`${where}: Terraform template directives (%{...}) are not supported`);
    out += text[i];
  }
  return out;
}

/** The `TYPE.NAME` of every resource a string refers to. */
export function referencesIn(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/\$\{\s*([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)\.[a-z0-9_]+\s*\}/g)) {
    if (match[1] !== "var") found.add(`${match[1]}.${match[2]}`);
  }
  return [...found];
}
