export { Backoff, type BackoffOptions } from "./backoff.ts";
