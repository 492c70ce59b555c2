#!/usr/bin/env node
// Cosmos DB compatible test server for the Cosmos store's tests.
//
// It serves the account and the routes of @vercel/cosmosdb-server over
// plain HTTP (any base64 key is accepted) with four fixes, so that the
// server behaves like Cosmos DB where the store relies on it:
//
//   1. A point read of a missing item answers 404 NotFound (the library
//      throws on the missing item and answers 500).
//   2. A transactional batch runs its operations with the batch's
//      partition key and is atomic: when one operation fails, every change
//      of the batch is rolled back and the answer is 207 Multi-Status with
//      the failed operation's status and 424 for the others (the library
//      fails on operations without their own partition key, answers 200
//      and keeps the changes made before the failure).
//   3. Items expire by TTL: with a container's defaultTtl set (-1 or n),
//      an item whose ttl (or the default) has passed since its _ts is
//      removed; expired items are swept at most one second late.
//   4. Connections are kept alive (the library closes every connection
//      after its response).
//
// And one change for speed and fidelity: the filter predicate of a
// conditional patch is evaluated against the patched item alone, as
// written (the library lower-cases it and queries the whole container),
// with its string literals bound as parameters so the compiled query is
// reused; on a container of thousands of items a claim stays cheap.
//
// For fault tests it also answers POST /_test/fault {"status": 503} (or
// 429) by failing every Cosmos request with that status until
// DELETE /_test/fault. With --data <file> it saves its databases,
// containers and items (with their ETags) to the file when it stops on
// SIGTERM or SIGINT and loads them when it starts, so a restart looks
// like an outage of a real account; without it every start is empty.
//
// Usage: node server.js --port <port> [--host 127.0.0.1] [--data <file>]
// It prints "ready http://<host>:<port>" once it listens.
"use strict";

const fs = require("fs");
const http = require("http");
const crypto = require("crypto");

const lib = "@vercel/cosmosdb-server/lib";
const Account = require(`${lib}/account`).default;
const routes = require(`${lib}/routes`).default;
const readJSON = require(`${lib}/json`).default;
const documentOps = require(`${lib}/handler/_document-operations`);
const { patchOperation } = require(`${lib}/handler/_patch-operations`);
const { parsePartitionKey } = require(`${lib}/utils/get-partition-from-header`);
const libReadDocument = require(`${lib}/handler/read-document`).default;
const libBatchDocuments = require(`${lib}/handler/batch-documents`).default;
const libPatchDocument = require(`${lib}/handler/patch-document`).default;

const PARTITION_KEY_HEADER = "x-ms-documentdb-partitionkey";

function parseArgs(argv) {
  const args = { host: "127.0.0.1", port: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--port" || argv[i] === "-p") args.port = parseInt(argv[(i += 1)], 10);
    else if (argv[i] === "--host") args.host = argv[(i += 1)];
    else if (argv[i] === "--data") args.data = argv[(i += 1)];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

// Fix 1: a point read of a missing item is 404, not a TypeError (500).
async function readDocument(account, req, res, params) {
  const collection = account.database(params.dbId).collection(params.collId);
  if (collection.read()) {
    let doc;
    try {
      const pk = parsePartitionKey(req.headers[PARTITION_KEY_HEADER], params.docId);
      doc = collection.document(params.docId, pk).read();
    } catch (err) {
      doc = null; // no usable partition key header: the library answers
    }
    if (doc === undefined) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
  }
  return libReadDocument(account, req, res, params);
}

// A conditional patch whose predicate is evaluated against the item.
async function patchDocument(account, req, res, { dbId, collId, docId }) {
  const body = await readJSON(req);
  const collection = account.database(dbId).collection(collId);
  const operations = Array.isArray(body) ? body : body && body.operations;
  if (!Array.isArray(operations)) {
    res.statusCode = 400;
    return { code: "BadRequest", message: "Invalid patch request: check syntax of patch specification." };
  }
  const partitionKey = req.headers[PARTITION_KEY_HEADER];
  const condition = Array.isArray(body) ? undefined : body.condition;
  if (condition && collection.read()) {
    let doc;
    try {
      doc = collection.document(docId, parsePartitionKey(partitionKey, docId)).read();
    } catch (err) {
      doc = undefined;
    }
    if (doc) {
      const m = /^\s*from\s+(\w+)\s+where\s+([\s\S]+)$/i.exec(condition);
      let matched;
      if (m) {
        const parameters = [];
        const where = m[2].replace(/'((?:[^'\\]|\\.)*)'/g, (_, literal) => {
          const name = `@p${parameters.length}`;
          parameters.push({ name, value: literal.replace(/\\(.)/g, "$1") });
          return name;
        });
        try {
          const query = collection.documents._getQuery(`SELECT * FROM ${m[1]} WHERE (${where})`);
          matched = query.exec([doc], { parameters }).result.length > 0;
        } catch (err) {
          matched = undefined;
        }
      }
      if (matched === undefined) {
        res.statusCode = 400;
        return { code: "BadRequest", message: "Invalid condition in patch request." };
      }
      if (!matched) {
        res.statusCode = 412;
        return { code: "PreconditionFailed", message: "Condition specified in the patch request is not satisfied." };
      }
    }
  }
  const result = patchOperation(collection, { id: docId, partitionKey, ifMatch: req.headers["if-match"], operations });
  res.statusCode = result.statusCode;
  return result.body;
}

// Fix 2: an atomic transactional batch with the batch's partition key.
async function batchDocuments(account, req, res, { dbId, collId }) {
  const body = await readJSON(req);
  const collection = account.database(dbId).collection(collId);
  if (!collection.read()) {
    res.statusCode = 404;
    return { code: "NotFound", message: "Resource Not Found" };
  }
  if (!Array.isArray(body)) {
    res.statusCode = 400;
    return { code: "BadRequest", message: "Invalid request body" };
  }
  const partitionKey = req.headers[PARTITION_KEY_HEADER];
  const docs = collection.documents;
  const before = { data: new Map(docs._data), index: new Map(docs._index), ridCount: docs._ridCount };
  const results = [];
  let failed = -1;
  for (let i = 0; i < body.length && failed < 0; i += 1) {
    const op = body[i] || {};
    const input = { ...op, partitionKey: op.partitionKey || partitionKey };
    let result;
    try {
      switch (op.operationType) {
        case "Create":
          result = documentOps.createOperation(collection, input);
          break;
        case "Upsert":
          result = documentOps.upsertOperation(collection, input);
          break;
        case "Read":
          result = documentOps.readOperation(collection, input);
          break;
        case "Delete":
          result = documentOps.deleteOperation(collection, input);
          break;
        case "Replace":
          result = documentOps.replaceOperation(collection, input);
          break;
        case "Patch": {
          const spec = op.resourceBody || {};
          result = patchOperation(collection, {
            id: op.id,
            partitionKey: input.partitionKey,
            ifMatch: op.ifMatch,
            operations: Array.isArray(spec) ? spec : spec.operations,
            condition: Array.isArray(spec) ? undefined : spec.condition
          });
          break;
        }
        default:
          result = { statusCode: 400, body: { message: `operation type ${op.operationType} is not supported in a batch` } };
      }
    } catch (err) {
      result = { statusCode: 400, body: { message: err.message } };
    }
    results.push(result);
    if (result.statusCode >= 400) failed = i;
  }
  if (failed >= 0) {
    docs._data = before.data;
    docs._index = before.index;
    docs._ridCount = before.ridCount;
    res.statusCode = 207;
    return body.map((_, i) =>
      i === failed
        ? { statusCode: results[i].statusCode, requestCharge: 1, resourceBody: results[i].body }
        : { statusCode: 424, requestCharge: 0 }
    );
  }
  res.statusCode = 200;
  return results.map(r => ({
    statusCode: r.statusCode,
    requestCharge: 1,
    eTag: r.body ? r.body._etag : undefined,
    resourceBody: r.body
  }));
}

// Fix 3: TTL expiry, as Cosmos DB does it: only in containers with a
// defaultTtl; an item's own ttl overrides it; -1 means never.
function sweepExpired(account) {
  const now = Math.floor(Date.now() / 1000);
  for (const db of account.databases._data.values()) {
    for (const coll of db.collections._data.values()) {
      const props = coll.read();
      if (!props || props.defaultTtl === undefined || props.defaultTtl === null) continue;
      const expired = [];
      for (const item of coll.documents._data.values()) {
        const doc = item.read();
        const ttl = typeof doc.ttl === "number" ? doc.ttl : props.defaultTtl;
        if (ttl !== -1 && doc._ts + ttl <= now) expired.push(doc);
      }
      for (const doc of expired) coll.documents.delete(doc.id, coll.documents._getPartition(doc));
    }
  }
}

// Persistence: the account's databases, containers and items as they are
// held, ETags and resource ids included.
function saveState(account, file) {
  const state = { ridCount: account.databases._ridCount, databases: [] };
  for (const db of account.databases._data.values()) {
    const d = { props: db.read(), ridCount: db.collections._ridCount, containers: [] };
    for (const coll of db.collections._data.values()) {
      d.containers.push({
        props: coll.read(),
        ridCount: coll.documents._ridCount,
        items: [...coll.documents._data.values()].map(item => item.read())
      });
    }
    state.databases.push(d);
  }
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
  fs.renameSync(`${file}.tmp`, file);
}

function loadState(account, file) {
  if (!fs.existsSync(file)) return;
  const state = JSON.parse(fs.readFileSync(file, "utf8"));
  account.databases._ridCount = state.ridCount;
  for (const d of state.databases) {
    account.databases._set(d.props);
    const db = account.database(d.props.id);
    db.collections._ridCount = d.ridCount;
    for (const c of d.containers) {
      db.collections._set(c.props);
      const coll = db.collection(c.props.id);
      coll.documents._ridCount = c.ridCount;
      for (const item of c.items) coll.documents._set(item);
    }
  }
}

const overrides = new Map([
  [libReadDocument, readDocument],
  [libBatchDocuments, batchDocuments],
  [libPatchDocument, patchDocument]
]);

function createServer(dataFile) {
  let account;
  let lastSweep = 0;
  let fault = null;

  const server = http.createServer((req, res) => {
    (async () => {
      if (Date.now() - lastSweep >= 1000) {
        lastSweep = Date.now();
        sweepExpired(account);
      }
      let body;
      const path = req.url.split("?")[0];
      if (path === "/_test/fault") {
        if (req.method === "POST") {
          fault = await readJSON(req);
        } else {
          fault = null;
        }
        res.statusCode = 200;
        body = { fault };
      } else if (fault) {
        res.statusCode = fault.status;
        if (fault.status === 429) res.setHeader("x-ms-retry-after-ms", "20");
        body = { code: fault.status === 429 ? "TooManyRequests" : "ServiceUnavailable", message: "fault injected by the test" };
      } else {
        const route = routes(req);
        if (route) {
          const [params, libHandler] = route;
          const handler = overrides.get(libHandler) || libHandler;
          try {
            body = await handler(account, req, res, params);
          } catch (err) {
            console.error(err); // eslint-disable-line no-console
            body = { message: err.message };
            res.statusCode = 500;
          }
          if (res.statusCode > 399 && body && !body.message) body.message = "";
        } else {
          res.statusCode = 400;
          body = { message: "no route" };
        }
      }
      if (body && body._etag) res.setHeader("etag", body._etag);
      res.setHeader("content-type", "application/json");
      res.setHeader("content-location", `http://${req.headers.host}${req.url}`);
      res.setHeader("connection", "keep-alive"); // fix 4
      res.setHeader("x-ms-activity-id", crypto.randomUUID());
      res.setHeader("x-ms-request-charge", "1");
      if (req.headers["a-im"] && res.statusCode === 200) {
        if (req.headers["if-none-match"]) res.statusCode = 304;
        res.setHeader("etag", "1");
      }
      res.end(JSON.stringify(body === undefined ? {} : body));
    })().catch(err => {
      console.error(err); // eslint-disable-line no-console
      if (!res.writableEnded) {
        res.statusCode = 500;
        res.end("{}");
      }
    });
  });
  server.keepAliveTimeout = 60000;
  server.on("listening", () => {
    const { address, port } = server.address();
    account = new Account(address, port);
    // The account's regional endpoints: plain HTTP, as served.
    const endpoint = `http://${address}:${port}/`;
    const meta = account.read();
    meta.writableLocations[0].databaseAccountEndpoint = endpoint;
    meta.readableLocations[0].databaseAccountEndpoint = endpoint;
    if (dataFile) loadState(account, dataFile);
  });
  server.saveState = () => {
    if (dataFile && account) saveState(account, dataFile);
  };
  return server;
}

const args = parseArgs(process.argv.slice(2));
const server = createServer(args.data);
server.listen(args.port, args.host, () => {
  const { address, port } = server.address();
  console.log(`ready http://${address}:${port}`); // eslint-disable-line no-console
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.saveState();
    process.exit(0);
  });
}
