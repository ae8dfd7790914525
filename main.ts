/**
 * The CDKTF app: picks the target, builds its stacks, synthesizes them to cdktf.out.
 *
 *   npm run synth                              lab (default)
 *   ORDERLAB_TARGET=cluster npm run synth      cluster
 *   npx cdktf synth --context target=cluster   same, through cdktf context
 */
import { App } from "cdktf";
import { parseTarget, settingsFor } from "./stacks/config.js";
import { buildPlatform } from "./stacks/platform.js";

const app = new App();
const target = parseTarget(process.env.ORDERLAB_TARGET ?? (app.node.tryGetContext("target") as string | undefined));
buildPlatform(app, settingsFor(target, process.env));
app.synth();
