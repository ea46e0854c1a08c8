import { destinationCreateSchema, destinationUpdateSchema, type DestinationCreate, type DestinationUpdate } from "@clm/destinations";
import { intOption, parseCommandArgs, UsageError } from "./args.ts";

export type DestinationCommand =
  | { action: "list"; json: boolean }
  | { action: "create"; input: DestinationCreate; json: boolean }
  | { action: "update"; id: string; patch: DestinationUpdate; json: boolean }
  | { action: "rotate-secret"; id: string; secret?: string; overlapSeconds?: number; json: boolean }
  | { action: "delete"; id: string }
  | { action: "dead-letters"; id: string; offset: number; limit: number; json: boolean }
  | { action: "replay"; id: string; ids?: string[] };

const ACTIONS = ["list", "create", "update", "rotate-secret", "delete", "dead-letters", "replay"] as const;

const FIELDS = {
  url: { type: "string" },
  types: { type: "string" },
  audience: { type: "string", multiple: true },
  "all-audiences": { type: "boolean", default: false },
  secret: { type: "string" },
  "max-batch": { type: "string" },
  lanes: { type: "string" },
  description: { type: "string" },
  overlap: { type: "string" },
  id: { type: "string", multiple: true },
  offset: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** zod's issues as one usage line. */
function validated<T>(result: { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }): T {
  if (result.success) return result.data;
  throw new UsageError(result.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(input)"}: ${issue.message}`).join("; "));
}

const list = (value: string | undefined) => (value === undefined ? undefined : value.split(",").map((item) => item.trim()).filter(Boolean));

/** `clm destinations <action> …` → a command whose fields passed the same zod schemas as the HTTP API. */
export function parseDestinationArgs(args: readonly string[]): DestinationCommand {
  const [action, ...rest] = args;
  if (!(ACTIONS as readonly string[]).includes(action ?? "")) throw new UsageError(`expected one of ${ACTIONS.join(", ")}, got ${JSON.stringify(action ?? "")}`);
  const needsId = action !== "list" && action !== "create";
  const { values, positionals } = parseCommandArgs(rest, FIELDS, { min: needsId ? 1 : 0, max: needsId ? 1 : 0 });
  const id = positionals[0]!;
  const json = values.json;
  const maxBatch = values["max-batch"] === undefined ? undefined : intOption("max-batch", values["max-batch"], 1, { min: 1, max: 1_000_000 });
  switch (action) {
    case "list":
      return { action, json };
    case "create": {
      if (values.url === undefined || values.types === undefined) throw new UsageError("create needs --url and --types");
      const input = validated(
        destinationCreateSchema.safeParse({
          url: values.url,
          types: list(values.types),
          ...(values.audience ? { audienceIds: values.audience } : {}),
          ...(values.secret ? { secret: values.secret } : {}),
          ...(maxBatch !== undefined ? { maxBatch } : {}),
          ...(values.lanes !== undefined ? { lanes: intOption("lanes", values.lanes, 64, { min: 1, max: 1_000_000 }) } : {}),
          ...(values.description !== undefined ? { description: values.description } : {}),
        }),
      );
      return { action, input, json };
    }
    case "update": {
      if (values.audience && values["all-audiences"]) throw new UsageError("--audience and --all-audiences exclude each other");
      const patch = validated(
        destinationUpdateSchema.safeParse({
          ...(values.url !== undefined ? { url: values.url } : {}),
          ...(values.types !== undefined ? { types: list(values.types) } : {}),
          ...(values.audience ? { audienceIds: values.audience } : values["all-audiences"] ? { audienceIds: null } : {}),
          ...(maxBatch !== undefined ? { maxBatch } : {}),
          ...(values.description !== undefined ? { description: values.description } : {}),
        }),
      );
      if (Object.keys(patch).length === 0) throw new UsageError("update needs at least one of --url, --types, --audience, --all-audiences, --max-batch, --description");
      return { action, id, patch, json };
    }
    case "rotate-secret":
      return {
        action,
        id,
        json,
        ...(values.secret !== undefined ? { secret: validated(destinationCreateSchema.shape.secret.safeParse(values.secret))! } : {}),
        ...(values.overlap !== undefined ? { overlapSeconds: intOption("overlap", values.overlap, 0, { min: 0, max: 30 * 24 * 3600 }) } : {}),
      };
    case "delete":
      return { action, id };
    case "dead-letters":
      return { action, id, json, offset: intOption("offset", values.offset, 0, { min: 0, max: 1e9 }), limit: intOption("limit", values.limit, 20, { min: 1, max: 1000 }) };
    default:
      return { action: "replay", id, ...(values.id ? { ids: values.id } : {}) };
  }
}
