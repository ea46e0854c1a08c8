export { IngestClient, IngestRequestError, type ClientOptions, type InputEvent, type SendResult } from "./client.ts";
