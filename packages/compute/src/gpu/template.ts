/**
 * Tiny WGSL template expander: `{{NAME}}` substitution and line directives `//#if NAME`, `//#if !NAME`,
 * `//#else`, `//#endif` (nestable), and `//#include NAME`, which splices in a shared fragment (its directives are
 * expanded with the same record). A kernel is (template, specialisation record); the record's
 * deterministic key names the compiled pipeline in the cache.
 *
 * @example
 * expandTemplate("//#if VEC4\nA\n//#else\nB\n//#endif\nconst T = {{T}}u;", { VEC4: true, T: 4 }) // "A\nconst T = 4u;"
 */
export type Specialization = Record<string, number | boolean>;

export function expandTemplate(source: string, spec: Specialization, fragments: Record<string, string> = {}): string {
  const out: string[] = [];
  const stack: { active: boolean; parentActive: boolean; taken: boolean }[] = [];
  const active = () => (stack.length ? stack[stack.length - 1].active : true);
  for (const line of includeFragments(source, fragments, [])) {
    const t = line.trim();
    const mIf = /^\/\/#if\s+(!?)(\w+)\s*$/.exec(t);
    if (mIf) {
      const name = mIf[2];
      if (!(name in spec)) throw new Error(`WGSL template: //#if ${name} is not in the specialisation record`);
      const cond = Boolean(spec[name]) !== (mIf[1] === "!");
      const parentActive = active();
      stack.push({ active: parentActive && cond, parentActive, taken: cond });
      continue;
    }
    if (t === "//#else") {
      const top = stack[stack.length - 1];
      if (!top) throw new Error("WGSL template: //#else without //#if");
      top.active = top.parentActive && !top.taken;
      continue;
    }
    if (t === "//#endif") {
      if (!stack.pop()) throw new Error("WGSL template: //#endif without //#if");
      continue;
    }
    if (active()) out.push(line);
  }
  if (stack.length) throw new Error("WGSL template: unterminated //#if");
  return out.join("\n").replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
    if (!(name in spec)) throw new Error(`WGSL template: {{${name}}} is not in the specialisation record`);
    return String(Number(spec[name]));
  });
}

/** Source lines with every `//#include NAME` line replaced by fragment NAME's lines (fragments may include others). */
function includeFragments(source: string, fragments: Record<string, string>, chain: string[]): string[] {
  return source.split("\n").flatMap((line) => {
    const m = /^\/\/#include\s+(\w+)\s*$/.exec(line.trim());
    if (!m) return [line];
    const name = m[1];
    if (!(name in fragments)) throw new Error(`WGSL template: //#include ${name} names no fragment (have: ${Object.keys(fragments).join(", ") || "none"})`);
    if (chain.includes(name)) throw new Error(`WGSL template: //#include ${name} includes itself (${[...chain, name].join(" -> ")})`);
    return includeFragments(fragments[name], fragments, [...chain, name]);
  });
}

/** Deterministic key of a kernel specialisation: family plus sorted fields. */
export function specKey(family: string, spec: Specialization): string {
  return `${family}(${Object.keys(spec)
    .sort()
    .map((k) => `${k}=${Number(spec[k])}`)
    .join(",")})`;
}
