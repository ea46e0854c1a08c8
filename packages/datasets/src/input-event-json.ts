/** An input event in its JSON (ingest) form, before validation. */
export interface InputEventJson {
  eventId: string;
  type: "purchase" | "login" | "support";
  customerId: string;
  occurredAt: string;
  properties: Record<string, unknown>;
}
