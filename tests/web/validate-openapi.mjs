// tests/web/validate-openapi.mjs — fetches an OpenAPI document from a running restable and
// validates it with a standard validator (swagger-parser: the OpenAPI 3.1 JSON Schema plus its
// semantic checks, e.g. path parameters declared, operationIds unique, $refs resolvable).
// usage: node validate-openapi.mjs http://127.0.0.1:PORT/openapi.json
// Exit 0 when valid; 1 with the validator's message otherwise.
import SwaggerParser from "@apidevtools/swagger-parser";

const url = process.argv[2];
if (!url) {
    console.error("usage: node validate-openapi.mjs URL");
    process.exit(2);
}
try {
    const response = await fetch(url);
    if (response.status !== 200)
        throw new Error(`GET ${url} answered ${response.status}`);
    const document = await response.json();
    // validate() dereferences in place: hand it a copy, keep the original for the checks below
    const api = await SwaggerParser.validate(structuredClone(document));
    if (document.openapi !== "3.1.0")
        throw new Error(`expected openapi 3.1.0, got ${document.openapi}`);
    console.log(`valid: OpenAPI ${document.openapi}, ${Object.keys(api.paths).length} paths`);
} catch (error) {
    console.error(`invalid: ${error.message}`);
    process.exit(1);
}
