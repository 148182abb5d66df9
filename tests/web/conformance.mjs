// tests/web/conformance.mjs — the OpenAPI document as a contract: reads a running restable's
// /openapi.json and drives EVERY operation in it, built from the document alone, with a
// third-party OpenAPI client (swagger-client builds each request: path, query serialization,
// body, bearer security), then validates every answer with a JSON Schema 2020-12 validator
// (ajv): the status must be documented for that operation, every header restable sends beyond
// the standard ones must be documented on that response (and match its schema), and the body
// must match the documented schema for that status and content type.
//
// Per operation: a valid request (no optional parameter), one per optional parameter, one with
// all of them, and each documented error the document gives the means to provoke:
//   400 (an unknown parameter, a bad % escape, malformed JSON, a path key of the wrong type),
//   401 (no token / an invalid one, per the operation's security), 403 (a valid token without
//   the operation's grants; an integer parameter over its maximum), 404 (a key no row has),
//   405 (each method a path does not list, checked against Allow and OPTIONS), 409 (a foreign
//   key to no row: x-restable-references), 413/414/431 (over the x-restable-limit-bytes of the
//   response), 415 (a body that is not JSON), 422 (a body that breaks its schema), 501
//   (Transfer-Encoding), 505 (HTTP/2.0 request line).
// A new operation, parameter or schema is covered without new code here.
//
// usage: node conformance.mjs BASE_URL --token JWT --weak-token JWT [--unavailable]
//                              [--body OPERATION_ID=JSON]...
//   --token: a token holding every grant the document names; --weak-token: a valid token
//   holding none; --body: the valid body of an operation whose values the document cannot
//   give (the login's credentials). --unavailable: PostgreSQL is stopped; each operation is driven with its
//   valid request only, and every answer must still conform (503 with Retry-After, mostly).
// Prints "statuses: <json>" (status -> count), "answered: <json>" (operationId -> statuses),
// "ok: N requests conform" and exits 0, or lists
// every non-conforming answer and exits 1.
import SwaggerClient from "swagger-client";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import http from "node:http";
import net from "node:net";

const args = process.argv.slice(2);
const base = args[0];
const option = (name) => {
    const index = args.indexOf(name);
    return index > 0 ? args[index + 1] : undefined;
};
const token = option("--token");
const weakToken = option("--weak-token");
const unavailable = args.includes("--unavailable");
// --body OPERATION_ID=JSON: the valid body of an operation whose values the document cannot
// give (the login's credentials)
const givenBodies = {};
args.forEach((arg, i) => {
    if (arg === "--body") {
        const [id, ...json] = args[i + 1].split("=");
        givenBodies[id] = JSON.parse(json.join("="));
    }
});
if (!base || !token || !weakToken) {
    console.error("usage: node conformance.mjs BASE_URL --token JWT --weak-token JWT [--unavailable]");
    process.exit(2);
}
const target = new URL(base);

// Headers any HTTP server may send that need no description in the document.
const STANDARD_HEADERS = new Set(["date", "content-type", "content-length", "connection",
    "keep-alive", "transfer-encoding", "cache-control", "vary"]);
const METHODS = ["get", "put", "post", "patch", "delete"];

const failures = [];
const statuses = {};
const seen = {}; // operationId -> Set of statuses
let requestCount = 0;

function fail(where, message) {
    failures.push(`${where}: ${message}`);
}

// ---- the document ---------------------------------------------------------------------------

const raw = await (await fetch(new URL("openapi.json", base.endsWith("/") ? base : base + "/"))).json();
const basePath = Object.keys(raw.paths).find((path) => path.endsWith("openapi.json")).slice(0, -"openapi.json".length);

function pointer(document, ref) {
    let node = document;
    for (const part of ref.replace(/^#\//, "").split("/"))
        node = node[decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~")];
    return node;
}
function deref(node) {
    while (node && node.$ref)
        node = pointer(raw, node.$ref);
    return node;
}

// What swagger-client's buildRequest reads, with the references it needs resolved (its own
// full resolver takes seconds on a document this size): parameters and request bodies.
const resolved = structuredClone(raw);
for (const item of Object.values(resolved.paths)) {
    if (item.parameters)
        item.parameters = item.parameters.map(deref);
    for (const method of [...METHODS, "head"]) {
        if (!item[method])
            continue;
        if (item[method].parameters)
            item[method].parameters = item[method].parameters.map(deref);
        if (item[method].requestBody)
            item[method].requestBody = deref(item[method].requestBody);
    }
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
// the document itself is the schema store: "#/components/schemas/X" resolves inside it
ajv.addSchema({ $id: "openapi.json", components: raw.components });
function rebase(node) {
    if (Array.isArray(node))
        return node.map(rebase);
    if (node && typeof node === "object") {
        const out = {};
        for (const [key, value] of Object.entries(node))
            out[key] = key === "$ref" && typeof value === "string" && value.startsWith("#")
                ? "openapi.json" + value : rebase(value);
        return out;
    }
    return node;
}
const validators = new Map();
function validatorFor(schema) {
    const key = JSON.stringify(schema);
    if (!validators.has(key))
        validators.set(key, ajv.compile(rebase(schema)));
    return validators.get(key);
}

const operations = [];
for (const [path, item] of Object.entries(raw.paths))
    for (const method of [...METHODS, "head"])
        if (item[method])
            operations.push({ path, method, operation: item[method], item,
                              id: item[method].operationId });

function parametersOf(op) {
    const byKey = new Map();
    for (const parameter of [...(op.item.parameters || []), ...(op.operation.parameters || [])]) {
        const resolvedParameter = deref(parameter);
        byKey.set(`${resolvedParameter.in}:${resolvedParameter.name}`, resolvedParameter);
    }
    return [...byKey.values()];
}
function requestSchemaOf(op) {
    const body = deref(op.operation.requestBody);
    return body?.content?.["application/json"]?.schema;
}
function tableOf(op) {
    return op.operation.tags?.[0];
}
// The collection a {param} path belongs to: the same path without its last template segment.
function collectionOf(path) {
    const match = path.match(/^(.*\/)\{[^}]+\}\/?$/);
    return match ? match[1] : null;
}
// The primary key property a collection's create answers (its keys schema's one property).
function keyPropertyOf(collection) {
    const create = raw.paths[collection]?.post;
    const created = create && deref(create.responses["201"]);
    const schema = created && deref(created.content["application/json"].schema);
    // an object's create answers its new key ([{"<pk>": ...}]), one of the 201's shapes
    const keys = (schema?.anyOf || [schema]).map(deref).find((shape) => shape?.type === "array");
    const items = deref(keys?.items);
    return items ? Object.keys(items.properties)[0] : null;
}

// ---- values from schemas --------------------------------------------------------------------

let counter = 0;
const runId = Date.now().toString(36).slice(-5);
const created = new Map(); // table -> [keys] of rows this run created

function uuid() {
    return crypto.randomUUID();
}
function firstType(schema) {
    const type = schema.type;
    if (Array.isArray(type))
        return type.find((t) => t !== "null") || "null";
    return type;
}
// A valid value for schema; mode "full" fills every writable property, "required" only the
// required ones.
function generate(schema, mode = "full", depth = 0) {
    schema = deref(schema);
    if (!schema || depth > 6)
        return null;
    if (schema["x-restable-references"]) {
        const keys = created.get(schema["x-restable-references"]);
        if (keys?.length)
            return keys[0]; // made first and never deleted (deletes take fresh rows)
    }
    if (schema.const !== undefined)
        return schema.const;
    if (schema.anyOf || schema.oneOf)
        return generate((schema.anyOf || schema.oneOf)[0], mode, depth + 1);
    if (schema.enum)
        return schema.enum.find((value) => value !== null);
    if (schema.examples?.length)
        return structuredClone(schema.examples[0]);
    if (schema.default !== undefined && schema.default !== null)
        return structuredClone(schema.default);
    switch (firstType(schema)) {
    case "string": {
        switch (schema.format) {
        case "date-time": return new Date().toISOString();
        case "date": return "2024-02-29";
        case "uuid": return uuid();
        case "email": return `t${++counter}@example.com`;
        case "byte": return "aGVsbG8=";
        default: break;
        }
        const text = `t${runId}-${++counter}`;
        return schema.maxLength ? text.slice(-schema.maxLength) : text;
    }
    case "integer":
        return Math.max(schema.minimum ?? 1, 1) + (schema.maximum !== undefined ? 0 : 2);
    case "number":
        return 1.5;
    case "boolean":
        return true;
    case "array":
        return [generate(schema.items || {}, mode, depth + 1)];
    case "object": {
        const out = {};
        const required = new Set(schema.required || []);
        for (const [name, property] of Object.entries(schema.properties || {})) {
            const resolvedProperty = deref(property);
            if (resolvedProperty.readOnly)
                continue;
            if (mode === "full" || required.has(name))
                out[name] = generate(resolvedProperty, mode, depth + 1);
        }
        return out;
    }
    case "null":
        return null;
    default:
        return { generated: true }; // a JSON column: any value
    }
}
// A value of the schema's type that names no row (404).
function absentValue(schema) {
    schema = deref(schema);
    if (schema.enum)
        return "no-such-" + schema.enum[0];
    switch (firstType(schema)) {
    case "integer": return schema.maximum !== undefined ? schema.maximum : 9007199254740991;
    case "string": return schema.format === "uuid" ? uuid() : `absent-${runId}`;
    default: return "absent";
    }
}
// A value of the wrong type for the schema (400), or undefined when any text is valid.
function malformedValue(schema) {
    schema = deref(schema);
    const type = firstType(schema);
    if (type === "integer" || type === "number")
        return "not-a-number";
    if (schema.format === "uuid")
        return "not-a-uuid";
    return undefined;
}

// ---- sending --------------------------------------------------------------------------------

// Sends a request built by swagger-client from the document; extra: query text appended,
// headers replaced, raw body. Returns {status, headers, text}.
async function send(op, { parameters = {}, body, auth = "token", extraQuery = "", headers = {},
                          rawBody, path } = {}) {
    const securities = auth === "token" ? { authorized: { bearer: { value: token } } }
        : auth === "weak" ? { authorized: { bearer: { value: weakToken } } } : {};
    const request = SwaggerClient.buildRequest({
        spec: resolved, operationId: op.id, parameters, requestBody: body, securities,
        requestContentType: body !== undefined ? "application/json" : undefined,
    });
    let url = request.url;
    if (path)
        url = path + (url.includes("?") ? url.slice(url.indexOf("?")) : "");
    if (extraQuery)
        url += (url.includes("?") ? "&" : "?") + extraQuery;
    const allHeaders = { ...request.headers, ...headers };
    for (const [name, value] of Object.entries(allHeaders))
        if (value === null)
            delete allHeaders[name];
    let payload = rawBody !== undefined ? rawBody : request.body;
    if (payload !== undefined && typeof payload !== "string")
        payload = JSON.stringify(payload);
    return rawRequest(request.method, url, allHeaders, payload);
}

function rawRequest(method, url, headers, payload) {
    headers = { ...headers };
    if (payload !== undefined)
        headers["Content-Length"] = Buffer.byteLength(payload); // never chunked (that is a 501)
    return new Promise((resolve, reject) => {
        const outgoing = http.request({ host: target.hostname, port: target.port, method,
                                        path: url, headers, agent: false }, (response) => {
            const chunks = [];
            response.on("data", (chunk) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode,
                                               headers: response.headers,
                                               text: Buffer.concat(chunks).toString("utf8") }));
            response.on("error", reject);
        });
        outgoing.on("error", reject);
        if (payload !== undefined)
            outgoing.write(payload);
        outgoing.end();
    });
}

// A raw request line and headers over a socket, for what clients refuse to send.
function socketRequest(text) {
    return new Promise((resolve, reject) => {
        const socket = net.connect(Number(target.port), target.hostname);
        const chunks = [];
        socket.on("data", (chunk) => chunks.push(chunk));
        socket.on("end", () => {
            const all = Buffer.concat(chunks).toString("utf8");
            const [head, ...rest] = all.split("\r\n\r\n");
            const lines = head.split("\r\n");
            const headers = {};
            for (const line of lines.slice(1)) {
                const colon = line.indexOf(":");
                headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
            }
            resolve({ status: Number(lines[0].split(" ")[1]), headers, text: rest.join("\r\n\r\n") });
        });
        socket.on("error", reject);
        socket.setTimeout(10000, () => socket.destroy(new Error("socket timeout")));
        socket.write(text);
    });
}

// ---- checking -------------------------------------------------------------------------------

function record(op, status) {
    requestCount++;
    statuses[status] = (statuses[status] || 0) + 1;
    (seen[op.id] ||= new Set()).add(status);
}

// Checks one answer against the documented response for its status; response: the response
// object to use instead of the operation's (405). Returns the parsed body.
function conform(op, what, answer, { expect, response } = {}) {
    const where = `${op.method.toUpperCase()} ${op.path} (${op.id}) ${what}`;
    record(op, answer.status);
    if (expect && !expect(answer.status))
        fail(where, `unexpected status ${answer.status}: ${answer.text.slice(0, 300)}`);
    const documented = response ? deref(response) : deref(op.operation.responses[String(answer.status)]);
    if (!documented) {
        fail(where, `status ${answer.status} is not documented (documented: ${Object.keys(op.operation.responses).join(", ")}): ${answer.text.slice(0, 200)}`);
        return undefined;
    }
    const documentedHeaders = Object.fromEntries(Object.entries(documented.headers || {})
        .map(([name, header]) => [name.toLowerCase(), deref(header)]));
    for (const [name, value] of Object.entries(answer.headers)) {
        if (STANDARD_HEADERS.has(name) || name.startsWith("access-control-"))
            continue;
        const header = documentedHeaders[name];
        if (!header) {
            fail(where, `header ${name}: ${value} is not documented for ${answer.status}`);
            continue;
        }
        if (header.schema) {
            const typed = firstType(deref(header.schema)) === "integer" ? Number(value) : value;
            const validate = validatorFor(header.schema);
            if (!validate(typed))
                fail(where, `header ${name}: ${value} does not match its schema: ${ajv.errorsText(validate.errors)}`);
        }
    }
    if (op.method === "head" || answer.status === 204 || answer.status === 304) {
        if (answer.text.length)
            fail(where, `a ${answer.status} to ${op.method.toUpperCase()} has a body`);
        return undefined;
    }
    const contentType = (answer.headers["content-type"] || "").split(";")[0].trim();
    const content = documented.content;
    if (!content) {
        if (answer.text.length)
            fail(where, `status ${answer.status} documents no body, got ${contentType}: ${answer.text.slice(0, 200)}`);
        return undefined;
    }
    if (!content[contentType]) {
        fail(where, `content type ${contentType} is not documented for ${answer.status} (${Object.keys(content).join(", ")})`);
        return undefined;
    }
    if (contentType !== "application/json")
        return answer.text;
    let body;
    try {
        body = JSON.parse(answer.text);
    } catch (error) {
        fail(where, `the body is not JSON: ${answer.text.slice(0, 200)}`);
        return undefined;
    }
    const validate = validatorFor(content[contentType].schema);
    if (!validate(body))
        fail(where, `the ${answer.status} body does not match its schema: ${ajv.errorsText(validate.errors)}; body: ${answer.text.slice(0, 400)}`);
    return body;
}

const is2xx = (status) => status >= 200 && status < 300;
const isStatus = (...wanted) => (status) => wanted.includes(status);

// ---- the run --------------------------------------------------------------------------------

function needsToken(op) {
    const security = op.operation.security;
    return Array.isArray(security) && security.length > 0 && !security.some((r) => Object.keys(r).length === 0);
}
function grantsOf(op) {
    return (op.operation.security || []).flatMap((requirement) => Object.values(requirement).flat());
}
function readsTokens(op) {
    return Boolean(op.operation.responses["401"]);
}

// The table rows are created first, referenced tables before those that reference them.
const creates = operations.filter((op) => op.method === "post" && raw.paths[op.path].post && keyPropertyOf(op.path));
function referencesOf(op) {
    const schema = requestSchemaOf(op);
    const input = deref(schema?.oneOf?.[0] || schema);
    return Object.values(input?.properties || {}).map((p) => deref(p)["x-restable-references"]).filter(Boolean);
}
creates.sort((a, b) => referencesOf(a).length - referencesOf(b).length);
for (let pass = 0; pass < creates.length; pass++)
    for (let i = 0; i < creates.length; i++)
        for (const table of referencesOf(creates[i])) {
            const j = creates.findIndex((op) => tableOf(op) === table);
            if (j > i)
                creates.splice(j, 0, ...creates.splice(i, 1));
        }

function inputSchema(op) {
    const schema = deref(requestSchemaOf(op));
    return schema?.oneOf ? schema.oneOf[0] : schema;
}

async function createRow(collectionOp, what = "a valid create") {
    const body = generate(inputSchema(collectionOp), "full");
    const answer = await send(collectionOp, { body });
    const keys = conform(collectionOp, what, answer, { expect: is2xx });
    const keyProperty = keyPropertyOf(collectionOp.path);
    const key = Array.isArray(keys) ? keys[0]?.[keyProperty] : undefined;
    if (key !== undefined) {
        const table = tableOf(collectionOp);
        if (!created.has(table))
            created.set(table, []);
        created.get(table).push(key);
    }
    return key;
}

function collectionCreate(path) {
    const collection = collectionOf(path);
    return collection && raw.paths[collection]?.post
        ? operations.find((op) => op.path === collection && op.method === "post") : undefined;
}

// Valid values for the path parameters: a key of a row this run made (or any row the list
// shows, for read-only tables), or the schema's own value.
async function pathParameters(op, fresh = false) {
    const values = {};
    for (const parameter of parametersOf(op).filter((p) => p.in === "path")) {
        const schema = deref(parameter.schema);
        if (schema.enum || schema.examples) {
            values[parameter.name] = generate(schema);
            continue;
        }
        const collection = collectionOf(op.path);
        const create = collectionCreate(op.path);
        if (create && fresh) {
            values[parameter.name] = await createRow(create, "a create for a fresh row");
            continue;
        }
        const table = tableOf(op);
        if (created.get(table)?.length) {
            values[parameter.name] = created.get(table)[0];
            continue;
        }
        values[parameter.name] = generate(schema);
    }
    return values;
}

// Tables this run cannot write (read_only): the key of a row their list shows.
async function discoverKeys() {
    for (const [path, item] of Object.entries(raw.paths)) {
        const parameter = item.parameters?.map(deref).find((p) => p["x-restable-column"]);
        const collection = collectionOf(path);
        const list = operations.find((o) => o.path === collection && o.method === "get");
        if (!parameter || !list || created.get(tableOf(list))?.length)
            continue;
        const body = conform(list, "a list for a key", await send(list, {}), { expect: is2xx });
        const row = body?.rows?.[0];
        if (row)
            created.set(tableOf(list), [row[parameter["x-restable-column"]]]);
    }
}

function validBody(op, keyValues) {
    const schema = deref(requestSchemaOf(op));
    if (!schema)
        return undefined;
    if (givenBodies[op.id])
        return structuredClone(givenBodies[op.id]);
    const single = schema.oneOf ? schema.oneOf[0] : schema;
    const body = generate(single, "full");
    // a row's own key may be repeated, never changed
    const keyProperty = collectionOf(op.path) && keyPropertyOf(collectionOf(op.path));
    const pathKey = Object.keys(keyValues)[0];
    if (keyProperty && keyProperty in body && pathKey !== undefined)
        body[keyProperty] = keyValues[pathKey];
    return body;
}

// Optional query parameters alone; "x__suffix" goes with "x" when both exist (an operator
// needs its value).
function optionalQuery(op) {
    return parametersOf(op).filter((p) => p.in === "query" && !p.required);
}
function requiredQueryValues(op) {
    const values = {};
    for (const parameter of parametersOf(op).filter((p) => p.in === "query" && p.required))
        values[parameter.name] = requiredValue(op, parameter);
    return values;
}
function requiredValue(op, parameter) {
    if (parameter.name === "__ids") {
        const keys = created.get(tableOf(op));
        if (keys?.length)
            return String(keys[0]);
    }
    return generate(parameter.schema);
}
function parameterValue(op, parameter) {
    if (parameter.name === "__ids" && created.get(tableOf(op))?.length)
        return String(created.get(tableOf(op))[0]);
    return generate(parameter.schema);
}

async function driveValid(op, pathValues, makeBody) {
    const parameters = { ...pathValues, ...requiredQueryValues(op) };
    const auth = needsToken(op) || readsTokens(op) ? "token" : "none";
    conform(op, "a valid request", await send(op, { parameters, body: makeBody(), auth }), { expect: is2xx });
    if (unavailable)
        return;
    // each optional parameter
    const optional = optionalQuery(op);
    const names = new Set(optional.map((p) => p.name));
    const all = { ...parameters };
    for (const parameter of optional) {
        const single = { ...parameters, [parameter.name]: parameterValue(op, parameter) };
        const stem = parameter.name.includes("__", 1) ? parameter.name.slice(0, parameter.name.lastIndexOf("__")) : null;
        if (stem && names.has(stem))
            single[stem] = parameterValue(op, optional.find((p) => p.name === stem));
        // a parameter that does not go with others (__cursor and __page) is tried alone only
        if (!parameter["x-restable-not-with"])
            all[parameter.name] = single[parameter.name];
        const answer = await send(op, { parameters: single, body: makeBody(), auth });
        conform(op, `with ${parameter.name}=${JSON.stringify(single[parameter.name])}`, answer, { expect: is2xx });
    }
    if (optional.length > 1 && op.method !== "post" && op.method !== "put") {
        const answer = await send(op, { parameters: all, body: makeBody(), auth });
        conform(op, "with every optional parameter", answer, { expect: is2xx });
    }
}

// Each documented error this operation can be made to answer, from what the document says.
async function driveErrors(op, pathValues, makeBody) {
    const responses = op.operation.responses;
    const parameters = { ...pathValues, ...requiredQueryValues(op) };
    const auth = needsToken(op) || readsTokens(op) ? "token" : "none";
    const documented = (status) => Boolean(responses[String(status)]);
    const sendBody = makeBody();
    const fourxx = (status) => status >= 400 && status < 500;

    // 400: a bad % escape (any request); an unknown parameter (operations that take any)
    conform(op, "a bad % escape", await send(op, { parameters, body: sendBody, auth, extraQuery: "x=%zz" }),
            { expect: isStatus(400) });
    if (optionalQuery(op).length)
        conform(op, "an unknown parameter", await send(op, { parameters, body: sendBody, auth, extraQuery: "__no_such_parameter=1" }),
                { expect: isStatus(400) });
    for (const parameter of parametersOf(op).filter((p) => p.in === "path")) {
        const bad = malformedValue(parameter.schema);
        if (bad !== undefined)
            conform(op, `a malformed ${parameter.name}`, await send(op, { parameters: { ...parameters, [parameter.name]: bad }, body: sendBody, auth }),
                    { expect: isStatus(400) });
    }
    // 403: an integer parameter over its maximum (a limit); a valid token without the grants
    for (const parameter of optionalQuery(op)) {
        const schema = deref(parameter.schema);
        if (firstType(schema) === "integer" && schema.maximum !== undefined && schema.maximum < 2147483647)
            conform(op, `${parameter.name} over its maximum`, await send(op, { parameters: { ...parameters, [parameter.name]: schema.maximum + 1 }, body: sendBody, auth }),
                    { expect: fourxx });
    }
    if (grantsOf(op).length)
        conform(op, "a token without the grants", await send(op, { parameters, body: sendBody, auth: "weak" }),
                { expect: isStatus(403) });
    // 401
    if (needsToken(op))
        conform(op, "no token", await send(op, { parameters, body: sendBody, auth: "none" }), { expect: isStatus(401) });
    if (readsTokens(op))
        conform(op, "an invalid token", await send(op, { parameters, body: sendBody, auth: "none", headers: { Authorization: "Bearer not.a.token" } }),
                { expect: isStatus(401) });
    // 404: a key no row has (or a name outside the path parameter's enum)
    if (documented(404))
        for (const parameter of parametersOf(op).filter((p) => p.in === "path")) {
            const absent = absentValue(parameter.schema);
            // a body repeating the row's key repeats the absent one
            const absentBody = sendBody && !Array.isArray(sendBody) ? { ...sendBody } : sendBody;
            const keyProperty = collectionOf(op.path) && keyPropertyOf(collectionOf(op.path));
            if (absentBody && keyProperty in absentBody)
                absentBody[keyProperty] = absent;
            conform(op, `an absent ${parameter.name}`, await send(op, { parameters: { ...parameters, [parameter.name]: absent }, body: absentBody, auth }),
                    { expect: isStatus(404) });
        }
    // body errors
    if (requestSchemaOf(op)) {
        conform(op, "malformed JSON", await send(op, { parameters, auth, rawBody: "{\"a\":", headers: { "Content-Type": "application/json" } }),
                { expect: isStatus(400) });
        conform(op, "a body that is not JSON", await send(op, { parameters, auth, rawBody: "a=1", headers: { "Content-Type": "text/plain" } }),
                { expect: isStatus(415) });
        const schema = deref(inputSchema(op));
        const broken = makeBody();
        if (schema.additionalProperties === false)
            broken.__no_such_column = 1;
        else if (schema.required?.length)
            delete broken[schema.required[0]];
        conform(op, "a body that breaks its schema", await send(op, { parameters, body: broken, auth }),
                { expect: isStatus(422) });
        if (deref(requestSchemaOf(op)).type === "object" && schema.additionalProperties === false)
            conform(op, "two rows in a body that takes one", await send(op, { parameters, body: [makeBody(), makeBody()], auth }), { expect: fourxx });
        // 409: a foreign key to no row
        for (const [name, property] of Object.entries(schema.properties || {})) {
            if (!deref(property)["x-restable-references"] || !documented(409))
                continue;
            const dangling = { ...makeBody(), [name]: absentValue(deref(property).anyOf?.[0] || property) };
            conform(op, `${name} naming no row`, await send(op, { parameters, body: dangling, auth }),
                    { expect: isStatus(409) });
        }
    }
    // framing and limits, which every operation documents
    conform(op, "Transfer-Encoding: chunked", await socketRequestFor(op, parameters, "Transfer-Encoding: chunked\r\n", "2\r\n{}\r\n0\r\n\r\n"),
            { expect: isStatus(501) });
    conform(op, "HTTP/2.0", await socketRequestFor(op, parameters, "", "", "HTTP/2.0"), { expect: isStatus(505) });
    const limit = (status) => deref(responses[String(status)])?.["x-restable-limit-bytes"];
    if (limit(414))
        conform(op, "a URL over the limit", await send(op, { parameters, body: sendBody, auth, extraQuery: "x=" + "a".repeat(limit(414)) }),
                { expect: isStatus(414) });
    if (limit(431))
        conform(op, "headers over the limit", await send(op, { parameters, body: sendBody, auth, headers: { "X-Padding": "a".repeat(limit(431)) } }),
                { expect: isStatus(431) });
    if (limit(413) && op.method !== "head" && op.method !== "get")
        conform(op, "a body over the limit", await send(op, { parameters, auth, rawBody: "[" + " ".repeat(limit(413)) + "]", headers: { "Content-Type": "application/json" } }),
                { expect: isStatus(413) });
}

async function socketRequestFor(op, parameters, extraHeaders, payload, version = "HTTP/1.1") {
    const request = SwaggerClient.buildRequest({ spec: resolved, operationId: op.id, parameters });
    return socketRequest(`${op.method.toUpperCase()} ${request.url} ${version}\r\nHost: ${target.host}\r\n` +
                         `Content-Type: application/json\r\nConnection: close\r\n${extraHeaders}\r\n${payload}`);
}

// 405 and Allow: every method a path does not list; OPTIONS lists the same
async function driveMethods(path, item) {
    const listed = METHODS.filter((method) => item[method]).map((m) => m.toUpperCase());
    const allowed = new Set([...listed, ...(item.get ? ["HEAD"] : []), "OPTIONS"]);
    const concrete = path.replace(/\{[^}]+\}/g, (name) => name === "{file}" ? "swagger-ui.css" : "1");
    const op = { path, method: "any", id: `${path} (unlisted methods)`, operation: { responses: {} } };
    for (const method of METHODS.filter((m) => !item[m])) {
        const answer = await rawRequest(method.toUpperCase(), concrete, { Authorization: `Bearer ${token}` }, undefined);
        conform({ ...op, method }, "an unlisted method", answer,
                { expect: isStatus(405), response: raw.components.responses.MethodNotAllowed });
        const allow = new Set((answer.headers.allow || "").split(",").map((m) => m.trim()).filter(Boolean));
        if ([...allowed].some((m) => !allow.has(m)) || [...allow].some((m) => !allowed.has(m)))
            fail(`${method.toUpperCase()} ${path}`, `Allow: ${answer.headers.allow} but the document lists ${[...allowed].join(", ")}`);
    }
    const options = await rawRequest("OPTIONS", concrete, {}, undefined);
    requestCount++;
    const allow = new Set((options.headers.allow || "").split(",").map((m) => m.trim()));
    if (options.status !== 204 || [...allowed].some((m) => !allow.has(m)) || allow.size !== allowed.size)
        fail(`OPTIONS ${path}`, `${options.status} Allow: ${options.headers.allow}; the document lists ${[...allowed].join(", ")}`);
}

// Paths are answered without their trailing slash too (x-restable-trailing-slash)
async function driveWithoutSlash(op, pathValues, makeBody) {
    const parameters = { ...pathValues, ...requiredQueryValues(op) };
    const request = SwaggerClient.buildRequest({ spec: resolved, operationId: op.id, parameters });
    const path = request.url.split("?")[0];
    if (!path.endsWith("/") || path === basePath)
        return;
    conform(op, "without the trailing slash", await send(op, { parameters, body: makeBody(), path: path.slice(0, -1), auth: "token" }),
            { expect: is2xx });
}

const order = { post: 0, get: 1, head: 2, put: 3, patch: 4, delete: 5 };
if (unavailable) {
    for (const op of operations) {
        const parameters = {};
        for (const parameter of parametersOf(op).filter((p) => p.in === "path"))
            parameters[parameter.name] = generate(parameter.schema);
        const body = validBody(op, parameters);
        const answer = await send(op, { parameters: { ...parameters, ...requiredQueryValues(op) }, body, auth: "token" });
        conform(op, "with the database stopped", answer);
    }
} else {
    for (const op of creates)
        await createRow(op);
    await discoverKeys();
    const sorted = [...operations].sort((a, b) => order[a.method] - order[b.method] ||
        (a.path.includes("{") ? 1 : 0) - (b.path.includes("{") ? 1 : 0));
    for (const op of sorted) {
      try {
        const fresh = op.method === "delete" || op.method === "put";
        const pathValues = await pathParameters(op, fresh);
        const body = () => validBody(op, pathValues);
        if (op.method === "post" && requestSchemaOf(op) && keyPropertyOf(op.path)) {
            // create many: an array of rows
            const many = [generate(inputSchema(op)), generate(inputSchema(op))];
            conform(op, "a create of two rows", await send(op, { body: many }), { expect: is2xx });
            // 422 naming the row
            const broken = [generate(inputSchema(op)), { ...generate(inputSchema(op)), __no_such_column: 1 }];
            const error = conform(op, "a create of two rows, the second broken", await send(op, { body: broken }), { expect: isStatus(422) });
            if (error && !error.error?.errors?.some((e) => e.row === 1))
                fail(op.id, `the 422 of a create of many does not name row 1: ${JSON.stringify(error)}`);
        }
        if (op.method === "delete" && !op.path.includes("{")) {
            // bulk delete: only rows this run made for it, named by __ids
            const create = operations.find((o) => o.path === op.path && o.method === "post");
            const key = await createRow(create, "a create for bulk delete");
            await driveErrors(op, { ...pathValues, __ids: String(key) }, body);
            conform(op, "a valid request", await send(op, { parameters: { __ids: String(key) }, auth: "token" }), { expect: is2xx });
            continue;
        }
        await driveErrors(op, pathValues, body);
        if (op.method !== "delete")
            await driveWithoutSlash(op, pathValues, body);
        await driveValid(op, pathValues, body);
      } catch (error) {
        fail(op.id, `the test could not drive it: ${error.stack}`);
      }
    }
    for (const [path, item] of Object.entries(raw.paths))
        await driveMethods(path, item);
}

// every operation was driven, and answered a success at least once (but with no database)
for (const op of operations)
    if (!seen[op.id])
        fail(op.id, "never driven");
    else if (!unavailable && ![...seen[op.id]].some(is2xx))
        fail(op.id, `never succeeded (answered ${[...seen[op.id]].join(", ")})`);

console.log(`statuses: ${JSON.stringify(statuses)}`);
// per operation, the statuses it answered (the Python side checks the errors it expects)
console.log(`answered: ${JSON.stringify(Object.fromEntries(Object.entries(seen).map(([id, set]) => [id, [...set].sort()])))}`);
console.log(`operations: ${operations.length}`);
if (failures.length) {
    for (const failure of failures)
        console.log(`FAIL ${failure}`);
    console.log(`${failures.length} non-conforming answers of ${requestCount} requests`);
    process.exit(1);
}
console.log(`ok: ${requestCount} requests conform`);
