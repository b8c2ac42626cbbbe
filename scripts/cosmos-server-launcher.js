#!/usr/bin/env node
// Starts @vercel/cosmosdb-server after patching the bugs that make the Rust
// Cosmos SDK fail against it (see shared AZURE-SDK.md, "Emulator 2"):
//   1. partition-key-range ids are numbers; the SDK wants strings;
//   2. reading/replacing/deleting a missing item (or with a wrong partition key)
//      throws a TypeError -> 500 (which the SDK retries); answer 404 instead;
//   3. batch operations carry the partition key only in the request header;
//      copy it into every operation;
//   4. SDK-planned cross-partition queries omit the enable-cross-partition
//      header; add it when a request targets a partition-key range without a
//      partition key;
//   5. with --no-ssl the account metadata still advertises https://; rewrite it;
//   6. its query engine lacks the third (ignore-case) argument of CONTAINS,
//      which the adapter's case-insensitive `contains` filter uses;
//   7. its change feed only pretends (the whole container, then 304 for ever):
//      stamp every write with a growing `_lsn` and answer `A-IM: Incremental
//      feed` reads with the documents written after `If-None-Match`, in write
//      order, with the last `_lsn` as the new etag;
//   8. resource ids are base64 of a counter, so the 62nd and 63rd database
//      (and every 64th after) get an id holding `+` or `/`, which the SDK
//      cannot take apart ("failed to extract database RID"); skip those ids.
//
// Usage: node cosmos-server-launcher.js <node_modules dir> [--host H] [--port P] [--no-ssl]
// Prints one line "cosmosdb-server listening on <scheme>://<host>:<port>/" when ready.
"use strict";

const path = require("path");

const [modulesDir, ...args] = process.argv.slice(2);
if (!modulesDir) {
  console.error("usage: cosmos-server-launcher.js <node_modules dir> [--host H] [--port P] [--no-ssl]");
  process.exit(2);
}
let host = "127.0.0.1";
let port = 0;
let noSsl = false;
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === "--host") host = args[(i += 1)];
  else if (args[i] === "--port") port = parseInt(args[(i += 1)], 10);
  else if (args[i] === "--no-ssl") noSsl = true;
  else {
    console.error(`unknown argument ${args[i]}`);
    process.exit(2);
  }
}

const lib = path.join(path.resolve(modulesDir), "@vercel", "cosmosdb-server", "lib");
const load = (rel) => require(path.join(lib, rel));

// 8. Resource ids without `+` or `/`: skip the counter values that make one.
for (const rel of ["account/databases", "account/collections"]) {
  const Kind = load(rel).default;
  const rid = Kind.prototype._rid;
  Kind.prototype._rid = function safeRid(id) {
    let n = id;
    for (;;) {
      const value = rid.call(this, n);
      if (!/[+/]/.test(value)) return value;
      this._ridCount += 1;
      n = this._ridCount;
    }
  };
}

// 1. String partition-key-range ids.
const PartitionKeyRange = load("account/partition-key-range").default;
const readRange = PartitionKeyRange.prototype.read;
PartitionKeyRange.prototype.read = function read() {
  const data = readRange.call(this);
  return data && typeof data.id === "number" ? { ...data, id: String(data.id) } : data;
};

// 2. Missing items are 404, not a TypeError -> 500. Patched before the router
//    captures the handlers.
const notFound = (res) => {
  res.statusCode = 404;
  return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
};
for (const rel of ["handler/read-document", "handler/replace-document", "handler/delete-document"]) {
  const mod = load(rel);
  const original = mod.default;
  mod.default = async (account, req, res, params) => {
    try {
      return await original(account, req, res, params);
    } catch (err) {
      if (err instanceof TypeError) return notFound(res);
      throw err;
    }
  };
}

// 3. Batch operations get the partition key of the request header.
const json = load("json");
const readJson = json.default;
json.default = async (req) => {
  const body = await readJson(req);
  const pk = req.headers["x-ms-documentdb-partitionkey"];
  if (Array.isArray(body) && pk && String(req.headers["x-ms-cosmos-is-batch-request"]).toLowerCase() === "true") {
    for (const op of body) {
      if (op && typeof op === "object" && op.partitionKey === undefined) op.partitionKey = pk;
    }
  }
  return body;
};

// 5. Account metadata advertises the scheme actually served.
if (noSsl) {
  const meta = load("handler/read-meta");
  const readMeta = meta.default;
  meta.default = (...a) => JSON.parse(JSON.stringify(readMeta(...a)).replace(/https:\/\//g, "http://"));
}

// 6. CONTAINS(haystack, needle, ignoreCase).
const builtins = require(require.resolve("@zeit/cosmosdb-query/lib/builtin-functions", { paths: [lib] }));
const contains = builtins.CONTAINS;
builtins.CONTAINS = function CONTAINS(...a) {
  if (a.length === 3) {
    const [haystack, needle, ignoreCase] = a;
    if (typeof ignoreCase !== "boolean" && ignoreCase !== undefined) return undefined;
    if (ignoreCase && typeof haystack === "string" && typeof needle === "string") {
      return haystack.toLowerCase().includes(needle.toLowerCase());
    }
    return contains(haystack, needle);
  }
  return contains(...a);
};

// 4. Range-targeted requests without a partition key are cross-partition.
const routes = load("routes");
const route = routes.default;
routes.default = (req) => {
  const h = req.headers;
  if (h["x-ms-documentdb-partitionkeyrangeid"] !== undefined && h["x-ms-documentdb-partitionkey"] === undefined) {
    h["x-ms-documentdb-query-enablecrosspartition"] = "true";
  }
  const found = route(req);
  if (found && h["a-im"] && found[1] === readDocuments) {
    return [found[0], changeFeed];
  }
  return found;
};

// 7. A change feed in write order.
const Items = load("account/items").default;
let lsn = 0;
const setItem = Items.prototype._set;
Items.prototype._set = function set(data) {
  lsn += 1;
  return setItem.call(this, { ...data, _lsn: lsn });
};
const readDocuments = load("handler/read-documents").default;
async function changeFeed(account, req, res, { dbId, collId }) {
  // The server's own A-IM handling would turn every answer into a 304.
  delete req.headers["a-im"];
  const since = parseInt(req.headers["if-none-match"] || "0", 10) || 0;
  const max = parseInt(req.headers["x-ms-max-item-count"] || "0", 10) || Infinity;
  const collection = account.database(dbId).collection(collId);
  if (!collection.read()) {
    res.statusCode = 404;
    return { code: "NotFound", message: "the collection does not exist" };
  }
  const changed = [...collection.documents._data.values()]
    .map((item) => item.read())
    .filter((doc) => doc && doc._lsn > since)
    .sort((a, b) => a._lsn - b._lsn)
    .slice(0, max);
  const last = changed.length ? changed[changed.length - 1]._lsn : since;
  res.setHeader("etag", String(last));
  if (!changed.length) {
    res.statusCode = 304;
    return {};
  }
  res.setHeader("x-ms-item-count", String(changed.length));
  return { Documents: changed, _count: changed.length };
}

const { createHttpServer, createHttpsServer } = load("index");
// keepAlive: without it the server answers `connection: close` and every SDK
// request pays a new TLS handshake (~3x slower under contention tests).
const server = (noSsl ? createHttpServer : createHttpsServer)({ keepAlive: true }).listen(port, host, () => {
  const address = server.address();
  console.log(`cosmosdb-server listening on ${noSsl ? "http" : "https"}://${host}:${address.port}/`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
