// WGSL sources are imported as text (`with { type: "text" }`) and inlined by Bun's bundler into the worker.
declare module "*.wgsl" {
  const source: string;
  export default source;
}
