import type { CustomerEvent } from "@clm/core";
import { CDNOW_MASTER_PATH, CDNOW_SAMPLE_PATH, readCdnowCustomerEvents } from "@clm/datasets";

/** The real CDNOW purchases as validated domain events, in time order. */
export function cdnowEvents(which: "sample" | "master" = "sample"): Promise<CustomerEvent[]> {
  return readCdnowCustomerEvents(which === "sample" ? CDNOW_SAMPLE_PATH : CDNOW_MASTER_PATH);
}
