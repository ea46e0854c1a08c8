import { z } from "zod";
import { idTextProblem } from "./id-text.ts";
import { amountToE4, MAX_AMOUNT_E4 } from "./money.ts";
import type { EpochMs } from "./time.ts";

/**
 * The input-event contract in its JSON form (what ingest accepts). The Avro
 * schema in schemas/customer-event.avsc is the wire form of the same contract;
 * packages/contracts proves the two agree.
 */

export const EVENT_TYPES = ["purchase", "login", "support"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const LOGIN_CHANNELS = ["web", "app", "store", "other"] as const;
export const SUPPORT_ACTIONS = ["opened", "resolved", "escalated"] as const;
export type SupportAction = (typeof SUPPORT_ACTIONS)[number];

export interface PurchaseProperties {
  orderId: string;
  /** Exact amount in 1/10 000 of the reporting currency unit. */
  amountE4: number;
  currency: string;
  quantity: number | null;
}
export interface LoginProperties {
  channel: (typeof LOGIN_CHANNELS)[number] | null;
}
export interface SupportProperties {
  ticketId: string;
  action: SupportAction;
  satisfaction: number | null;
}

interface EventBase {
  eventId: string;
  customerId: string;
  /** Event time, epoch ms UTC (the ISO offset is applied at parse time). */
  occurredAt: EpochMs;
}
export type PurchaseEvent = EventBase & { type: "purchase"; properties: PurchaseProperties };
export type LoginEvent = EventBase & { type: "login"; properties: LoginProperties };
export type SupportEvent = EventBase & { type: "support"; properties: SupportProperties };
/** A validated input event, immutable by convention, as the fold consumes it. */
export type CustomerEvent = PurchaseEvent | LoginEvent | SupportEvent;

const id = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(128, `${what} must be at most 128 characters`)
    .superRefine((value, context) => {
      const problem = idTextProblem(value);
      if (problem !== null) context.addIssue({ code: "custom", message: `${what} ${problem.detail}`, params: { fieldCode: problem.code } });
    });

/** 1970-01-01 .. 9999-12-31; an ISO-8601 date-time with seconds optional and an explicit offset (Z or ±hh:mm). */
export const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;
export const MIN_TIME = 0;
export const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const occurredAt = z
  .string({ error: "occurredAt must be an ISO-8601 string with offset, e.g. 2024-05-01T12:00:00Z" })
  .transform((text, context) => {
    if (!ISO_WITH_OFFSET.test(text)) {
      context.addIssue({ code: "custom", message: "occurredAt must be ISO-8601 with an offset, e.g. 2024-05-01T12:00:00Z or 2024-05-01T14:00:00+02:00" });
      return z.NEVER;
    }
    const parsed = Date.parse(text);
    if (Number.isNaN(parsed) || !sameCalendarFields(text, parsed)) {
      context.addIssue({ code: "custom", message: `occurredAt ${JSON.stringify(text)} is not a real date-time` });
      return z.NEVER;
    }
    if (parsed < MIN_TIME || parsed > MAX_TIME) {
      context.addIssue({ code: "custom", message: "occurredAt must be between 1970-01-01 and 9999-12-31 (UTC)" });
      return z.NEVER;
    }
    return parsed;
  });

/** Date.parse rolls 2024-02-30 over to March; reject such dates by checking the fields survive. */
export function sameCalendarFields(text: string, parsed: number): boolean {
  const offsetMatch = /(Z|([+-])(\d{2}):(\d{2}))$/.exec(text);
  const offsetMinutes =
    !offsetMatch || offsetMatch[1] === "Z"
      ? 0
      : (offsetMatch[2] === "-" ? -1 : 1) * (Number(offsetMatch[3]) * 60 + Number(offsetMatch[4]));
  if (Math.abs(offsetMinutes) > 18 * 60) return false;
  const local = new Date(parsed + offsetMinutes * 60_000);
  const [datePart, timePart = ""] = text.split("T");
  const [year, month, day] = (datePart ?? "").split("-").map(Number);
  const [hour, minute] = timePart.slice(0, 5).split(":").map(Number);
  return (
    local.getUTCFullYear() === year &&
    local.getUTCMonth() + 1 === month &&
    local.getUTCDate() === day &&
    local.getUTCHours() === hour &&
    local.getUTCMinutes() === minute
  );
}

function amountSchema() {
  return z
    .union([z.string(), z.number()], { error: "amount must be a decimal number or string, e.g. 12.34" })
    .transform((value, context) => {
      const e4 = amountToE4(value);
      if (e4 === null) {
        context.addIssue({ code: "custom", message: "amount must be a non-negative decimal with at most 4 fraction digits" });
        return z.NEVER;
      }
      if (e4 > MAX_AMOUNT_E4) {
        context.addIssue({ code: "custom", message: "amount must be at most 1000000000" });
        return z.NEVER;
      }
      return e4;
    });
}

/** Builds the JSON input schema for one reporting currency. */
export function createInputEventSchema(options: { reportingCurrency: string }) {
  const purchaseProperties = z
    .object({
      orderId: id("orderId"),
      amount: amountSchema(),
      currency: z
        .string({ error: "currency must be a string" })
        .regex(/^[A-Z]{3}$/, "currency must be an ISO 4217 code such as USD")
        .refine((code) => code === options.reportingCurrency, {
          error: (issue) => `currency ${String(issue.input)} is not the reporting currency ${options.reportingCurrency}`,
        }),
      quantity: z.number({ error: "quantity must be an integer >= 1" }).int("quantity must be an integer >= 1").min(1, "quantity must be an integer >= 1").max(1_000_000).optional(),
    })
    .strict()
    .transform(
      (properties): PurchaseProperties => ({
        orderId: properties.orderId,
        amountE4: properties.amount,
        currency: properties.currency,
        quantity: properties.quantity ?? null,
      }),
    );
  const loginProperties = z
    .object({ channel: z.enum(LOGIN_CHANNELS).optional() })
    .strict()
    .transform((properties): LoginProperties => ({ channel: properties.channel ?? null }));
  const supportProperties = z
    .object({
      ticketId: id("ticketId"),
      action: z.enum(SUPPORT_ACTIONS),
      satisfaction: z.number({ error: "satisfaction must be an integer 1..5" }).int("satisfaction must be an integer 1..5").min(1, "satisfaction must be an integer 1..5").max(5, "satisfaction must be an integer 1..5").optional(),
    })
    .strict()
    .transform(
      (properties): SupportProperties => ({
        ticketId: properties.ticketId,
        action: properties.action,
        satisfaction: properties.satisfaction ?? null,
      }),
    );

  const base = { eventId: id("eventId"), customerId: id("customerId"), occurredAt };
  return z.discriminatedUnion(
    "type",
    [
      z.object({ ...base, type: z.literal("purchase"), properties: purchaseProperties }).strict(),
      z.object({ ...base, type: z.literal("login"), properties: loginProperties.default({ channel: null }) }).strict(),
      z.object({ ...base, type: z.literal("support"), properties: supportProperties }).strict(),
    ],
    { error: (issue) => (issue.code === "invalid_union" ? `type must be one of ${EVENT_TYPES.join(", ")}` : undefined) },
  );
}

export type InputEventSchema = ReturnType<typeof createInputEventSchema>;

/** Codes of the field errors a client or operator may act on by code; the others are told by path and message. */
export const FIELD_ERROR_CODES = ["FUTURE_EVENT", "ID_BLANK", "ID_CONTROL_CHARACTER", "ID_LONE_SURROGATE"] as const;
export type FieldErrorCode = (typeof FIELD_ERROR_CODES)[number];

export interface FieldError {
  path: string;
  message: string;
  code?: FieldErrorCode;
}

export type ParseEventResult = { ok: true; event: CustomerEvent } | { ok: false; errors: FieldError[] };

/** Validates one JSON input event; errors name the field (dot path) and what is wrong. */
export function parseInputEvent(schema: InputEventSchema, input: unknown): ParseEventResult {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, event: parsed.data as CustomerEvent };
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => {
      const code = issue.code === "custom" ? (issue.params as { fieldCode?: FieldErrorCode } | undefined)?.fieldCode : undefined;
      return { path: issue.path.map(String).join(".") || "(event)", message: issue.message, ...(code === undefined ? {} : { code }) };
    }),
  };
}

/**
 * Value checks for an event that arrived already typed (decoded from Avro, so its
 * structure is right): the ranges Avro cannot express. Ingest's zod schema
 * enforces the same rules on JSON; the processor applies these to records that
 * reached the topic by any other way. Returns the problems, empty when valid.
 */
export function domainEventProblems(event: CustomerEvent, reportingCurrency: string): FieldError[] {
  const problems: FieldError[] = [];
  idProblem(problems, "eventId", event.eventId);
  idProblem(problems, "customerId", event.customerId);
  if (!Number.isSafeInteger(event.occurredAt) || event.occurredAt < MIN_TIME || event.occurredAt > MAX_TIME) {
    problems.push({ path: "occurredAt", message: "occurredAt must be between 1970-01-01 and 9999-12-31 (UTC)" });
  }
  switch (event.type) {
    case "purchase": {
      const { orderId, amountE4, currency, quantity } = event.properties;
      idProblem(problems, "properties.orderId", orderId);
      if (!Number.isSafeInteger(amountE4) || amountE4 < 0 || amountE4 > MAX_AMOUNT_E4) {
        problems.push({ path: "properties.amount", message: "amount must be between 0 and 1000000000" });
      }
      if (currency !== reportingCurrency) {
        problems.push({ path: "properties.currency", message: `currency ${currency} is not the reporting currency ${reportingCurrency}` });
      }
      if (quantity !== null && (!Number.isInteger(quantity) || quantity < 1 || quantity > 1_000_000)) {
        problems.push({ path: "properties.quantity", message: "quantity must be an integer >= 1" });
      }
      break;
    }
    case "login":
      break;
    case "support": {
      idProblem(problems, "properties.ticketId", event.properties.ticketId);
      const { satisfaction } = event.properties;
      if (satisfaction !== null && (!Number.isInteger(satisfaction) || satisfaction < 1 || satisfaction > 5)) {
        problems.push({ path: "properties.satisfaction", message: "satisfaction must be an integer 1..5" });
      }
      break;
    }
  }
  return problems;
}

/** A module-level helper, not a closure: domainEventProblems runs once per consumed record. */
function idProblem(problems: FieldError[], path: string, value: string): void {
  if (value.length < 1 || value.length > 128) problems.push({ path, message: `${path.split(".").pop()} must be 1..128 characters` });
  const text = idTextProblem(value);
  if (text !== null) problems.push({ path, code: text.code, message: `${path.split(".").pop()} ${text.detail}` });
}
