/**
 * `bun run nas <command>`: the command-line entry point. Each command lives in ./commands and exports
 * `help` and `run(argv)`. Errors print one clear line and exit non-zero.
 */
import { UsageError } from "./args.ts";

const commands: Record<string, () => Promise<{ help: string; run: (argv: string[]) => Promise<void | number> }>> = {
  default: () => import("./commands/default.ts"),
  search: () => import("./commands/search.ts"),
  resume: () => import("./commands/resume.ts"),
  list: () => import("./commands/list.ts"),
  show: () => import("./commands/show.ts"),
  pareto: () => import("./commands/pareto.ts"),
  eval: () => import("./commands/eval.ts"),
  export: () => import("./commands/export.ts"),
  serve: () => import("./commands/serve.ts"),



  logits: () => import("./commands/logits.ts"),
  generate: () => import("./commands/generate.ts"),
};

async function usage(): Promise<string> {
  const lines = await Promise.all(Object.values(commands).map(async (load) => `  ${(await load()).help}`));
  return `usage: bun run nas <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(await usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  try {
    const code = await (await load()).run(rest);
    return typeof code === "number" ? code : 0;
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`error: ${err.message}\n`);
    if (!(err instanceof UsageError) && process.env.NAS_DEBUG) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
