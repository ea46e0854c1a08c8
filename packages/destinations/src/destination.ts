import { z } from "zod";
import { secretBytes } from "./secrets.ts";
import { SIGNAL_TYPES } from "./signals.ts";

/** Most messages one request carries (maxBatch) and most lanes a destination has. */
export const MAX_BATCH = 1000;
export const MAX_LANES = 1024;

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).refine((url) => !new URL(url).username && !new URL(url).password, "credentials in the URL are not accepted; the signature authenticates the sender");
const signalType = z.string().refine((type) => SIGNAL_TYPES.includes(type), { error: `expected one of ${SIGNAL_TYPES.join(", ")}` });
const secret = z.string().refine((value) => secretBytes(value) !== null, "expected a Standard Webhooks secret: whsec_ + base64 of 24..64 bytes");
const audienceId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "expected 1..128 of [A-Za-z0-9._:-]");

/** POST /v1/destinations and `clm destinations create`. */
export const destinationCreateSchema = z
  .object({
    url: httpUrl,
    types: z.array(signalType).min(1).max(SIGNAL_TYPES.length),
    /** Only audience signals of these audiences; absent: every audience. Other signal types are not filtered. */
    audienceIds: z.array(audienceId).min(1).max(1000).optional(),
    /** Generated (32 random bytes) when absent. */
    secret: secret.optional(),
    /** Messages per request: 1 sends one JSON object per request, more sends a JSON array of up to this many. */
    maxBatch: z.number().int().min(1).max(MAX_BATCH).default(1),
    /** Per-customer order holds within a lane; lanes are delivered independently. Fixed at creation. */
    lanes: z.number().int().min(1).max(MAX_LANES).optional(),
    description: z.string().max(500).optional(),
  })
  .strict();

/** PATCH /v1/destinations/:id and `clm destinations update`: what may change after creation. */
export const destinationUpdateSchema = z
  .object({
    url: httpUrl.optional(),
    types: z.array(signalType).min(1).max(SIGNAL_TYPES.length).optional(),
    audienceIds: z.array(audienceId).min(1).max(1000).nullable().optional(),
    maxBatch: z.number().int().min(1).max(MAX_BATCH).optional(),
    description: z.string().max(500).nullable().optional(),
  })
  .strict();

/** POST /v1/destinations/:id/rotate-secret: the new secret signs from now on, the previous ones for the overlap. */
export const secretRotationSchema = z
  .object({
    secret: secret.optional(),
    /** How long the previous secrets keep signing beside the new one; default WEBHOOKS_SECRET_OVERLAP_MS. */
    overlapSeconds: z.number().int().min(0).max(30 * 24 * 3600).optional(),
  })
  .strict();

/** POST /v1/destinations/:id/replay: the named dead letters, or all of them. */
export const replaySchema = z.object({ ids: z.array(z.string().min(1)).min(1).max(100_000).optional() }).strict();

export type DestinationCreate = z.input<typeof destinationCreateSchema>;
export type DestinationUpdate = z.output<typeof destinationUpdateSchema>;

export interface DestinationSecret {
  secret: string;
  createdAt: number;
  /** null: the current secret; otherwise when it stops signing (a rotation's overlap). */
  expiresAt: number | null;
}

export interface Destination {
  id: string;
  url: string;
  types: string[];
  audienceIds: string[] | null;
  maxBatch: number;
  lanes: number;
  description: string | null;
  /** The current secret first, then previous ones still inside their overlap. */
  secrets: DestinationSecret[];
  createdAt: number;
  updatedAt: number;
}

/** The secrets that sign a request sent at `now`. */
export function signingSecrets(destination: Destination, now: number): string[] {
  return destination.secrets.filter((entry) => entry.expiresAt === null || entry.expiresAt > now).map((entry) => entry.secret);
}

/** Whether the destination takes a signal of this type (and audience). */
export function subscribes(destination: Destination, type: string, audienceId: string | undefined): boolean {
  if (!destination.types.includes(type)) return false;
  return audienceId === undefined || destination.audienceIds === null || destination.audienceIds.includes(audienceId);
}

/** A destination as the API and the CLI show it: secrets reduced to their last characters. */
export function publicDestination(destination: Destination, reveal = false) {
  return {
    ...destination,
    secrets: destination.secrets.map((entry) => ({
      secret: reveal ? entry.secret : `whsec_…${entry.secret.slice(-4)}`,
      createdAt: new Date(entry.createdAt).toISOString(),
      expiresAt: entry.expiresAt === null ? null : new Date(entry.expiresAt).toISOString(),
    })),
    createdAt: new Date(destination.createdAt).toISOString(),
    updatedAt: new Date(destination.updatedAt).toISOString(),
  };
}
