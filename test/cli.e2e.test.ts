/**
 * End to end: the real CLI (`bun apps/cli/src/main.ts`) on the real stories260K with the GPU engine, tiny
 * budgets. Checks what lands in the store, the report files, pause on SIGINT, resume after SIGKILL mid-run,
 * and that bad input leaves the store untouched.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDb, openDb } from "../db/src/index.ts";
import { loadModel, defaultModelPath, loadTokenizer, sharedDir } from "../packages/model/src/index.ts";
import { Engine } from "../packages/compute/src/index.ts";
import { prepareTask } from "../apps/cli/src/tasks.ts";

const root = join(import.meta.dir, "..");
const main = join(root, "apps/cli/src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "nas-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Small but real: 128 TinyStories tokens, 3 timed prefills of 64 tokens per candidate.
const fast = ["--tasks", "tinystories", "--tokens", "128", "--population", "4", "--evaluations", "8", "--seed", "3"];
// Interruption tests need a run that is still going when they interrupt it, however fast the engine gets.
const LONG = 40;
const long = [...fast, "--evaluations", String(LONG)];

function cli(args: string[]) {
  const p = Bun.spawnSync([process.execPath, main, ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function spawnCli(args: string[]) {
  return Bun.spawn([process.execPath, main, ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
}

type Row = { id: number; key: string; status: string; objectives: string | null; genome: string; on_front: number; updated_at: number };

function readStore(path: string) {
  const db = openDb(path);
  try {
    const searches = db.$client.query("SELECT * FROM searches ORDER BY id").all() as Record<string, unknown>[];
    const candidates = db.$client.query("SELECT * FROM candidates ORDER BY id").all() as Row[];
    return { searches, candidates };
  } finally {
    closeDb(db);
  }
}

/** Wait until the store holds at least `n` done candidates (the CLI commits each result on its own). */
async function waitForDone(path: string, n: number, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (existsSync(path)) {
      try {
        if (readStore(path).candidates.filter((c) => c.status === "done").length >= n) return;
      } catch {
        // schema not created yet
      }
    }
    await Bun.sleep(200);
  }
  throw new Error(`store ${path} never reached ${n} done candidates`);
}

const fileBytes = (p: string) => (existsSync(p) ? readFileSync(p) : null);

describe("nas CLI end to end on stories260K", () => {
  const db = join(dir, "run.db");

  test("search stores every candidate with finite objectives, the full network, and a front", async () => {
    const r = cli(["search", ...fast, "--objectives", "tinystories,params,throughput", "--db", db]);
    expect(r.stderr).toContain("8/8 evaluated (cached 0, failed 0)");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("tinystories(min)");
    const { searches, candidates } = readStore(db);
    expect(searches).toHaveLength(1);
    const s = searches[0];
    expect(s.status).toBe("done");
    expect(s.model_hash).toBe((await loadModel(defaultModelPath())).source.hash);
    const evaluator = JSON.parse(s.evaluator as string);
    expect(evaluator.kind).toBe("model");
    expect(evaluator.options).toMatchObject({ tasks: ["tinystories"], limit: 20, tokens: 128, reorder: { metric: "activation" } });
    // The importance permutation the search measured is stored with it: one MLP order (172) and KV-group order (4) per layer.
    expect(evaluator.options.permutation.mlp.map((p: number[]) => p.length)).toEqual([172, 172, 172, 172, 172]);
    expect(evaluator.options.permutation.kvHeads.map((p: number[]) => p.length)).toEqual([4, 4, 4, 4, 4]);
    expect(candidates).toHaveLength(8);
    expect(new Set(candidates.map((c) => c.key)).size).toBe(8);
    for (const c of candidates) {
      expect(c.status).toBe("done");
      const [ppl, params, tput] = JSON.parse(c.objectives!) as number[];
      expect(ppl).toBeGreaterThan(1);
      expect(params).toBeGreaterThan(100_000);
      expect(params).toBeLessThanOrEqual(260_032);
      expect(tput).toBeGreaterThan(0);
    }
    const full = candidates.find((c) => (JSON.parse(c.genome) as number[]).every((g) => g === 0));
    expect(full).toBeDefined();
    const [fullPpl, fullParams] = JSON.parse(full!.objectives!) as number[];
    expect(fullParams).toBe(260_032); // stories260K: every parameter (tied head counted once)
    // The full network has the lowest perplexity of all: nothing removed can help a trained model here.
    for (const c of candidates) expect((JSON.parse(c.objectives!) as number[])[0]).toBeGreaterThanOrEqual(fullPpl);
    expect(full!.on_front).toBe(1);
  }, 120_000);

  test("list, show and pareto read the store; pareto writes SVG, CSV and JSON of all candidates", () => {
    const l = cli(["list", "--db", db]);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/1\s+stories260K-hf nsga2 tinystories\s+done\s+nsga2\s+8\/8/);
    const sh = cli(["show", "1", "--db", db, "--json"]);
    expect(sh.code).toBe(0);
    expect(JSON.parse(sh.stdout).progress.candidates.done).toBe(8);
    const out = join(dir, "report");
    const p = cli(["pareto", "1", "--db", db, "--out", out]);
    expect(p.code).toBe(0);
    const front = readStore(db).candidates.filter((c) => c.on_front === 1);
    expect(p.stdout.trim().split("\n")).toHaveLength(1 + front.length);
    const csv = readFileSync(join(out, "search-1-candidates.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("id,key,generation,status,on_front,is_full,tinystories,params,throughput,eval_ms,subnet,error");
    expect(csv).toHaveLength(9);
    const json = JSON.parse(readFileSync(join(out, "search-1-candidates.json"), "utf8"));
    expect(json.candidates).toHaveLength(8);
    expect(json.candidates.filter((c: { onFront: boolean }) => c.onFront)).toHaveLength(front.length);
    const svg = readFileSync(join(out, "search-1.svg"), "utf8");
    expect(svg.match(/class="front"/g)?.length).toBe(2 * front.length); // two panels
    expect(svg.match(/class="full"/g)?.length).toBe(2);
    expect(svg.match(/class="(candidate|front)"/g)?.length).toBe(16);
    expect(svg).toContain("tinystories vs params");
    expect(svg).toContain("tinystories vs throughput");
  });

  test("bad input: one clear line, non-zero exit, store untouched", () => {
    const before = fileBytes(db);
    const cases: [string[], RegExp][] = [
      [["search", "--tasks", "tinystories,mmlu_x", "--db", db], /unknown task "mmlu_x"/],
      [["search", "--space", '{"minKeptLayers":9}', "--db", db], /minKeptLayers must be an integer in \[1, 5\], got 9/],
      [["search", "--space", '{"mlpWidth":[1]}', "--db", db], /mlpWidth/],
      [["search", "--model", join(dir, "missing"), "--db", db], /cannot read model .*missing/],
      [["search", "--model", join(sharedDir(), "models/stories260K/tok512.bin"), "--db", db], /cannot load model/],
      [["search", "--objectives", "tinystories,flops", "--db", db], /unknown objective "flops"/],
      [["show", "99", "--db", db], /search 99 not found/],
      [["list", "--db", join(dir, "nope.db")], /cannot open store/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(fileBytes(db)!.equals(before!)).toBe(true);
    expect(existsSync(join(dir, "nope.db"))).toBe(false);
  }, 60_000);

  test("SIGKILL mid-run leaves a resumable search; another model is refused; resume finishes without re-evaluating", async () => {
    const killed = join(dir, "killed.db");
    const proc = spawnCli(["search", ...long, "--objectives", "tinystories,params", "--db", killed]);
    await waitForDone(killed, 3);
    proc.kill("SIGKILL");
    await proc.exited;
    const atKill = readStore(killed);
    const doneAtKill = atKill.candidates.filter((c) => c.status === "done");
    expect(doneAtKill.length).toBeGreaterThanOrEqual(3);
    expect(doneAtKill.length).toBeLessThan(LONG);

    const other = join(sharedDir(), "models/tiny-llama3-gqa-bf16");
    const bytes = fileBytes(killed);
    const refused = cli(["resume", "1", "--db", killed, "--model", other]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/was created with model.hash .* refusing/);
    expect(fileBytes(killed)!.equals(bytes!)).toBe(true);

    const r = cli(["resume", "1", "--db", killed]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${doneAtKill.length} results already stored (not evaluated again)`);
    const after = readStore(killed);
    expect(after.searches[0].status).toBe("done");
    expect(after.candidates).toHaveLength(LONG);
    expect(after.candidates.every((c) => c.status === "done")).toBe(true);
    for (const c of doneAtKill) {
      const now = after.candidates.find((x) => x.id === c.id)!;
      expect(now.objectives).toBe(c.objectives);
      expect(now.updated_at).toBe(c.updated_at);
    }
  }, 180_000);

  test("SIGINT pauses cleanly (exit 130, nothing failed or left running) and resume completes", async () => {
    const paused = join(dir, "paused.db");
    const proc = spawnCli(["search", ...long, "--objectives", "tinystories,params", "--db", paused]);
    await waitForDone(paused, 2);
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain(`continue with: bun run nas resume 1 --db ${paused}`);
    const mid = readStore(paused);
    expect(mid.searches[0].status).toBe("paused");
    expect(mid.candidates.filter((c) => c.status === "failed" || c.status === "running")).toHaveLength(0);
    const r = cli(["resume", "1", "--db", paused]);
    expect(r.code).toBe(0);
    const after = readStore(paused);
    expect(after.searches[0].status).toBe("done");
    expect(after.candidates.filter((c) => c.status === "done")).toHaveLength(LONG);
  }, 180_000);

  test("reordering leaves the full network unchanged; an exported candidate of a reordered search scores what the search stored", async () => {
    const plain = join(dir, "plain.db");
    const r = cli(["search", ...fast, "--evaluations", "4", "--objectives", "tinystories,params", "--reorder", "none", "--db", plain]);
    expect(r.code).toBe(0);
    const opts = JSON.parse(readStore(plain).searches[0].evaluator as string).options;
    expect(opts.permutation).toBeUndefined();
    const fullOf = (path: string) => {
      const c = readStore(path).candidates.find((x) => (JSON.parse(x.genome) as number[]).every((g) => g === 0))!;
      return (JSON.parse(c.objectives!) as number[])[0];
    };
    expect(Math.abs(fullOf(plain) / fullOf(db) - 1)).toBeLessThan(1e-5);

    // A strict sub-network of the reordered search, exported standalone (HF), then measured on its own.
    const stored = readStore(db).candidates.find((c) => !(JSON.parse(c.genome) as number[]).every((g) => g === 0))!;
    const out = join(dir, `cand-${stored.id}`);
    const e = cli(["export", "--candidate", String(stored.id), "--db", db, "--format", "hf", "--out", out]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).reordered).toBe(true);
    const engine = await Engine.start();
    try {
      const model = await engine.load(out);
      const task = prepareTask("tinystories", loadTokenizer(out), model, { tokens: 128 });
      const { value } = await task.score(model, model.subnet(null));
      expect(Math.abs(value / (JSON.parse(stored.objectives!) as number[])[0] - 1)).toBeLessThan(1e-4);
    } finally {
      await engine.close();
    }
  }, 120_000);

  test("eval prints one JSON object of lm-eval metrics and cost counts; unknown tasks exit 2", () => {
    const r = cli(["eval", "--tasks", "arc_easy", "--limit", "2", "--subnet", '{"mlp":[128,128,128,128,128]}']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(out.subnet.mlp).toEqual([128, 128, 128, 128, 128]);
    expect(out.results.arc_easy.samples).toBe(2);
    expect([0, 0.5, 1]).toContain(out.results.arc_easy.acc);
    expect(out.params.total).toBe(217_792);
    const bad = cli(["eval", "--tasks", "arc_easy,nope", "--limit", "2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown task "nope"/);
  }, 60_000);
});
