/** The WGSL template expander (template.ts): conditionals, substitution, fragments, and the errors that name the problem. */
import { expect, test } from "bun:test";
import { expandTemplate, specKey } from "./template.ts";
import { kernelFragments, kernelSources } from "./kernels.ts";

test("conditionals nest, else picks the other branch, substitutions are numbers", () => {
  const src = "//#if A\na\n//#if !B\nnotB {{N}}\n//#else\nB\n//#endif\n//#else\nnotA\n//#endif\nend";
  expect(expandTemplate(src, { A: true, B: false, N: 3 })).toBe("a\nnotB 3\nend");
  expect(expandTemplate(src, { A: true, B: true, N: 3 })).toBe("a\nB\nend");
  expect(expandTemplate(src, { A: false, B: true, N: 3 })).toBe("notA\nend");
});

test("an included fragment is spliced in and expanded with the same record, fragments may include fragments", () => {
  const fragments = { f: "//#if W\nw {{N}}\n//#else\nnoW\n//#endif\n//#include g", g: "g" };
  expect(expandTemplate("start\n  //#include f\nend", { W: true, N: 2 }, fragments)).toBe("start\nw 2\ng\nend");
  expect(expandTemplate("//#include f", { W: false, N: 2 }, fragments)).toBe("noW\ng");
});

test("template errors name the directive: unknown fragment, self-inclusion, a name not in the record, unbalanced blocks", () => {
  expect(() => expandTemplate("//#include nope", {}, { f: "" })).toThrow(/#include nope names no fragment \(have: f\)/);
  expect(() => expandTemplate("//#include f", {}, { f: "//#include g", g: "//#include f" })).toThrow(/includes itself \(f -> g -> f\)/);
  expect(() => expandTemplate("//#if X\n//#endif", {})).toThrow(/#if X is not in the specialisation record/);
  expect(() => expandTemplate("{{Y}}", {})).toThrow(/\{\{Y\}\} is not in the specialisation record/);
  expect(() => expandTemplate("//#if X\n", { X: true })).toThrow(/unterminated/);
  expect(() => expandTemplate("//#endif", {})).toThrow(/without/);
});

test("the 16-bit weight decoding is one fragment that every weight-reading kernel includes", () => {
  for (const family of ["matmul", "block", "decode"] as const) {
    expect(kernelSources[family]).toContain("//#include weights16");
    expect(kernelSources[family]).not.toContain("fn halves");
  }
  const bf16 = expandTemplate(kernelFragments.weights16, { W16: true, WBF: true });
  expect(bf16).toContain("bitcast<f32>(u << 16u)");
  expect(bf16).toContain("alias WBlock = vec2u;");
  expect(expandTemplate(kernelFragments.weights16, { W16: false, WBF: false })).toContain("alias WBlock = vec4f;");
  expect(specKey("k", { B: true, A: 2 })).toBe("k(A=2,B=1)");
});
