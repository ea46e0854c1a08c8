#!/usr/bin/env node
// clm runs from its TypeScript sources, no build needed: tsx's loader, plus the export condition
// "@clm/source" that resolves the workspace packages to their sources (package.json "exports"),
// as `node --conditions=@clm/source --import tsx` would (SOURCE_NODE_FLAGS of @clm/observability).
import module from "node:module";
import { register } from "tsx/esm/api";

const SOURCE_CONDITION = "@clm/source";

register();
if (typeof module.registerHooks === "function") {
  module.registerHooks({
    resolve: (specifier, context, nextResolve) =>
      nextResolve(specifier, context.conditions.includes(SOURCE_CONDITION) ? context : { ...context, conditions: [...context.conditions, SOURCE_CONDITION] }),
  });
} else {
  const hook = `export const resolve = (specifier, context, nextResolve) => nextResolve(specifier, context.conditions.includes(${JSON.stringify(SOURCE_CONDITION)}) ? context : { ...context, conditions: [...context.conditions, ${JSON.stringify(SOURCE_CONDITION)}] });`;
  module.register(`data:text/javascript,${encodeURIComponent(hook)}`);
}
await import("../src/main.ts");
