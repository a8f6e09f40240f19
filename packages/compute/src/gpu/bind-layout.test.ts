import { expect, test } from "bun:test";
import { bindGroupLayoutEntries, kernelSources } from "./kernels.ts";

test("a kernel's bind group layout is read from its WGSL: a dynamic-offset uniform at 0, storage by access mode", () => {
  const code = [
    "@group(0) @binding(0) var<uniform> p: Params;",
    "@group(0) @binding(1) var<storage, read> x: array<vec4f>;",
    "//#if X (template lines are expanded before this runs)",
    "@group(0) @binding(3) var<storage, read_write> y: array<f32>;",
    "var<workgroup> tile: array<f32, 64>; // not a binding",
  ].join("\n");
  expect(bindGroupLayoutEntries(code)).toEqual([
    { binding: 0, visibility: 4, buffer: { type: "uniform", hasDynamicOffset: true } },
    { binding: 1, visibility: 4, buffer: { type: "read-only-storage" } },
    { binding: 3, visibility: 4, buffer: { type: "storage" } },
  ]);
});

test("bindings the engine cannot describe are refused by name, not guessed", () => {
  expect(() => bindGroupLayoutEntries("@group(1) @binding(0) var<uniform> p: P;")).toThrow(/expected group 0/);
  expect(() => bindGroupLayoutEntries("@group(0) @binding(0) var<storage, read> p: array<f32>;")).toThrow(/a uniform at binding 0/);
  expect(() => bindGroupLayoutEntries("@group(0) @binding(2) var<uniform> q: P;")).toThrow(/@binding\(2\) var<uniform>/);
  expect(() => bindGroupLayoutEntries("@group(0) @binding(1) var t: texture_2d<f32>;")).toThrow(/storage buffers elsewhere/);
});

test("every binding line in kernels/ has a form the layout reader knows", () => {
  for (const [family, source] of Object.entries(kernelSources)) {
    const lines = source.split("\n").filter((l) => l.includes("@binding("));
    expect(lines.length).toBeGreaterThan(0);
    // Each line alone parses to exactly one entry (binding 0 is the parameter uniform in every family).
    for (const line of lines) expect(bindGroupLayoutEntries(line).length, `${family}: ${line}`).toBe(1);
  }
});
