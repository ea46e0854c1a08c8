#!/usr/bin/env node
// The sources are TypeScript run as-is (no build step): register tsx's loader, then load the entry.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
