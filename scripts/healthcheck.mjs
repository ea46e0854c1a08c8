// The images' HEALTHCHECK (Dockerfile): GET /healthz of the service the image runs (CLM_SERVICE) on
// loopback, at the port its variable sets (docs/configuration.md; the defaults are @clm/config's).
// Exit 0 on a 200 within 4 s, else 1 with the reason on stderr. Plain JavaScript and node's own
// modules: the runtime image has neither tsx nor curl.
import { get } from "node:http";
import { env, exit, stderr } from "node:process";

const PORTS = {
  ingest: { variable: "INGEST_PORT", fallback: 8080 },
  processor: { variable: "PROCESSOR_HTTP_PORT", fallback: 8081 },
  sink: { variable: "SINK_HTTP_PORT", fallback: 8082 },
  modeler: { variable: "MODELER_HTTP_PORT", fallback: 8083 },
  console: { variable: "CONSOLE_PORT", fallback: 8084 },
  webhooks: { variable: "WEBHOOKS_PORT", fallback: 8085 },
};

const fail = (message) => {
  stderr.write(`healthcheck: ${message}\n`);
  exit(1);
};

const service = env.CLM_SERVICE ?? "";
const port = Object.hasOwn(PORTS, service) ? PORTS[service] : undefined;
if (port === undefined) fail(`CLM_SERVICE is ${JSON.stringify(service)}, expected one of ${Object.keys(PORTS).join(", ")}`);
const url = `http://127.0.0.1:${env[port.variable] || port.fallback}/healthz`;

const request = get(url, (response) => {
  let body = "";
  response.setEncoding("utf8");
  response.on("data", (chunk) => (body += chunk));
  response.on("end", () => (response.statusCode === 200 ? exit(0) : fail(`${url} answered ${response.statusCode} ${body.slice(0, 500)}`)));
});
request.setTimeout(4000, () => request.destroy(new Error("no answer within 4 s")));
request.on("error", (error) => fail(`${url}: ${error.code ?? error.message}`));
