/**
 * Traefik's Consul Catalog tags, built from typed routes and checked against a small schema.
 *
 * With `exposedByDefault=false` Traefik builds no router for a service that lacks
 * `traefik.enable=true`, and it silently ignores a misspelt key, so both are checked here rather
 * than discovered at the gateway.
 */

/**
 * A public route: a request for `pathPrefix` itself or for anything below it (`pathPrefix/...`)
 * goes to the service; `/orders` does not match `/order`.
 */
export interface TraefikRoute {
  /** Router and Traefik service name; no dots (Traefik splits tag keys on dots). */
  readonly name: string;
  readonly pathPrefix: string;
  /** Entrypoint the router listens on. */
  readonly entrypoint: string;
}

export const TRAEFIK_ENABLE_TAG = "traefik.enable=true";

const NAME = "[a-z0-9][a-z0-9-]*";

/** Tag keys Traefik's Consul Catalog provider understands and that we allow. */
const TAG_SCHEMA: readonly RegExp[] = [
  /^traefik\.enable$/,
  new RegExp(`^traefik\\.http\\.routers\\.${NAME}\\.(rule|entrypoints|service|middlewares|priority)$`),
  new RegExp(`^traefik\\.http\\.services\\.${NAME}\\.loadbalancer\\.server\\.(port|scheme)$`),
  new RegExp(`^traefik\\.http\\.services\\.${NAME}\\.loadbalancer\\.healthcheck\\.(path|interval)$`),
];

/** The tags that publish one route. */
export function traefikTags(route: TraefikRoute): string[] {
  return [
    TRAEFIK_ENABLE_TAG,
    `traefik.http.routers.${route.name}.rule=${routeRule(route.pathPrefix)}`,
    `traefik.http.routers.${route.name}.entrypoints=${route.entrypoint}`,
    `traefik.http.routers.${route.name}.service=${route.name}`,
  ];
}

/** The router rule for a path and everything below it, but not its siblings (`/order` and `/order/...`, not `/orders`). */
export function routeRule(pathPrefix: string): string {
  return `Path(\`${pathPrefix}\`) || PathPrefix(\`${pathPrefix}/\`)`;
}

const RULE = /^Path\(`(\/[^`]*)`\) \|\| PathPrefix\(`(\/[^`]*)\/`\)$/;

/** Problems with a tag list, one sentence each; empty when every `traefik.*` tag is well formed. */
export function traefikTagProblems(tags: readonly string[]): string[] {
  const problems: string[] = [];
  for (const tag of tags.filter((t) => t.startsWith("traefik"))) {
    const eq = tag.indexOf("=");
    if (eq <= 0) {
      problems.push(`tag "${tag}" must have the form key=value`);
      continue;
    }
    const key = tag.slice(0, eq);
    const value = tag.slice(eq + 1);
    if (!TAG_SCHEMA.some((pattern) => pattern.test(key))) {
      problems.push(`tag key "${key}" is not one of the Traefik keys this platform uses`);
    }
    if (key === "traefik.enable" && value !== "true") {
      problems.push(`tag "${tag}" must be traefik.enable=true when present`);
    }
    if (/\.rule$/.test(key)) {
      const match = RULE.exec(value);
      if (!match || match[1] !== match[2]) {
        problems.push(`router rule "${value}" must be Path(\`/p\`) || PathPrefix(\`/p/\`)`);
      }
    }
  }
  const usesTraefik = tags.some((t) => t.startsWith("traefik.http."));
  if (usesTraefik && !tags.includes(TRAEFIK_ENABLE_TAG)) {
    problems.push(`tags configure Traefik but lack "${TRAEFIK_ENABLE_TAG}", so no router would be built`);
  }
  return problems;
}
