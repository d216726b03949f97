// Apollo Gateway over running subgraphs, composed by introspection.
// Usage: node gateway.mjs PORT TOKEN name=url [name=url ...]
// TOKEN (may be "") goes to every subgraph as a bearer token. Prints "ready <url>".
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from "@apollo/gateway";

const [port, token, ...args] = process.argv.slice(2);
const subgraphs = args.map((arg) => {
  const at = arg.indexOf("=");
  return { name: arg.slice(0, at), url: arg.slice(at + 1) };
});
const headers = token ? { authorization: `Bearer ${token}` } : {};

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({ subgraphs, introspectionHeaders: headers }),
  buildService({ url }) {
    return new RemoteGraphQLDataSource({
      url,
      willSendRequest({ request }) {
        for (const [name, value] of Object.entries(headers)) request.http.headers.set(name, value);
      },
    });
  },
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: Number(port), host: "127.0.0.1" } });
console.log(`ready ${url}`);
