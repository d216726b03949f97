// Hive Gateway over running subgraphs, composed from their SDL (_service { sdl }) by @apollo/composition, as the
// Apollo Gateway of tests/composition composes them.
// Usage: node gateway.mjs PORT TOKEN DEDUPE name=url [name=url ...]
// TOKEN (may be "") goes to every subgraph as a bearer token; DEDUPE is "on" or
// "off" (the HTTP transport's deduplicateInflightRequests, on by default in Hive
// Gateway). Prints "ready <url>".
import { createServer } from "node:http";
import { createGatewayRuntime } from "@graphql-hive/gateway-runtime";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const [port, token, dedupe, ...args] = process.argv.slice(2);
const subgraphs = args.map((arg) => {
  const at = arg.indexOf("=");
  return { name: arg.slice(0, at), url: arg.slice(at + 1) };
});
const headers = token ? { authorization: `Bearer ${token}` } : {};

async function sdl(url) {
  const answer = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  return (await answer.json()).data._service.sdl;
}

const services = [];
for (const { name, url } of subgraphs) services.push({ name, url, typeDefs: parse(await sdl(url)) });
const composed = composeServices(services);
if (composed.errors?.length) throw new Error(composed.errors.map((e) => e.message).join("\n"));

const gateway = createGatewayRuntime({
  supergraph: composed.supergraphSdl,
  logging: "error",
  transportEntries: { "*.http": { options: { deduplicateInflightRequests: dedupe !== "off" } } },
  propagateHeaders: { fromClientToSubgraphs: () => headers },
});
const server = createServer(gateway);
server.listen(Number(port), "127.0.0.1", () => console.log(`ready http://127.0.0.1:${port}/graphql`));
// Stop at once when told to (the runtime would otherwise wait for its own disposal).
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
