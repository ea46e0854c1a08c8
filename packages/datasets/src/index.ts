export { parseCdnowLine, parseCdnowText, readCdnowFile, readCdnowCustomerEvents, CDNOW_MASTER_PATH, CDNOW_SAMPLE_PATH, type CdnowParseError } from "./cdnow.ts";
export { toInputEventJson, type InputEventJson } from "./input-event-json.ts";
export { syntheticEvents, syntheticEventStream, type SyntheticOptions } from "./synthetic.ts";
