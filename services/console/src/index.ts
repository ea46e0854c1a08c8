// The console's parts, for its tests: the server, the API's parameters and the views it reads.
export { createConsoleServer, PAGES, type ConsoleServerDeps } from "./server.ts";
export { CONSOLE_ERRORS, ConsoleError, type ConsoleErrorCode } from "./errors.ts";
export { MAX_PERIODS, MAX_SPAN, rangeOf, parsePeriodStart, periodStart, type DateRange, type Grain } from "./params.ts";
export { ViewReader } from "./views.ts";
export { formatAmount, formatCount, formatMoney, formatParameter, formatRatio, ratioOf } from "./format.ts";
