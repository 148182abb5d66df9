// src/schema.ts — what the admin knows about the tables, read from GET /openapi.json and
// nothing else: each table's columns (type, format, choices, required, read-only, secret =
// writeOnly, foreign key = x-restable-references), its key and readable column
// (x-restable-primary-key, x-restable-readable), which operations exist (a read_only table has
// no POST; bulk delete/update only when allowed) and the policy of each (x-restable-policy).
export type Policy = "public" | "authenticated" | string[];

export type Kind =
    | "boolean" | "integer" | "number" | "numeric" | "text" | "date" | "datetime" | "time"
    | "interval" | "uuid" | "email" | "bytes" | "json" | "array";

export interface Column {
    name: string;
    title: string;
    kind: Kind;
    itemKind?: Kind; // for arrays
    choices?: string[];
    required: boolean; // on create
    readOnly: boolean; // assigned by the database (serial keys)
    secret: boolean; // write-only: never shown
    nullable: boolean;
    references?: string; // the table a foreign key points at
    maxLength?: number;
    isText: boolean; // filters take a match mode
}

export interface Filter {
    column: Column;
    operators: string[]; // col__operator's words
    matchModes: string[]; // col__match's words (text columns)
}

export interface Table {
    name: string;
    primaryKey: string;
    readable?: string;
    columns: Column[];
    canCreate: boolean; // the table takes writes at all (not read_only)
    bulkDelete: boolean;
    bulkUpdate: boolean;
    policies: { read: Policy; write: Policy; delete: Policy; bulkUpdate: Policy };
    pageSize: number;
    maxPageSize: number;
    filters: Filter[]; // the columns the list can be filtered on (not secret ones)
}

export interface ApiDescription {
    tables: Table[];
    secured: boolean; // tokens are checked at all
    loginEnabled: boolean; // POST /auth/login exists
    scopeClaim: string;
    rolesClaim: string;
}

function firstType(schema: any): string | undefined {
    const type = schema?.type;
    if (Array.isArray(type))
        return type.find((t: string) => t !== "null");
    return type;
}

function isNullable(schema: any): boolean {
    return Array.isArray(schema?.type) && schema.type.includes("null");
}

function kindOf(schema: any): Kind {
    const type = firstType(schema);
    const format = schema?.format;
    if (type === "boolean") return "boolean";
    if (type === "integer") return "integer";
    if (type === "number") return Array.isArray(schema?.type) && schema.type.includes("string")
        ? "numeric" : "number";
    if (type === "array") return "array";
    if (type === "string") {
        if (format === "date") return "date";
        if (format === "date-time") return "datetime";
        if (format === "uuid") return "uuid";
        if (format === "email") return "email";
        if (format === "byte") return "bytes";
        if (schema?.pattern?.startsWith("^[0-9]{2}:")) return "time";
        if (schema?.pattern?.startsWith("^[0-9]{4}-")) return "datetime";
        if (schema?.pattern?.startsWith("^P")) return "interval";
        return "text";
    }
    return "json"; // json/jsonb columns have no type: any JSON value
}

function policyOf(operation: any, secured: boolean): Policy {
    if (!secured) return "public";
    return operation?.["x-restable-policy"] ?? "authenticated";
}

function columnsOf(input: any, row: any): Column[] {
    const required = new Set<string>(input?.required ?? []);
    return Object.entries<any>(input?.properties ?? {}).map(([name, schema]) => {
        // the input schema says what may be written; numeric and interval accept more types
        // there, so the kind comes from the row's schema when the row has the column
        const readSchema = row?.properties?.[name];
        const base = readSchema && !readSchema.anyOf ? readSchema : schema;
        const kind = kindOf(base);
        const choices = (schema.enum as any[] | undefined)?.filter((c) => c !== null);
        return {
            name,
            title: schema.title ?? name,
            kind,
            itemKind: kind === "array" ? kindOf(schema.items) : undefined,
            choices,
            required: required.has(name),
            readOnly: !!schema.readOnly,
            secret: !!schema.writeOnly,
            nullable: isNullable(schema),
            references: schema["x-restable-references"],
            maxLength: schema.maxLength,
            isText: kind === "text" || kind === "email",
        };
    });
}

export function describeApi(document: any): ApiDescription {
    const secured = !!document.components?.securitySchemes?.bearer;
    const bearer = document.components?.securitySchemes?.bearer ?? {};
    const schemas = document.components?.schemas ?? {};
    const paths = document.paths ?? {};
    const tables: Table[] = [];
    for (const [name, row] of Object.entries<any>(schemas)) {
        const primaryKey = row["x-restable-primary-key"];
        if (!primaryKey) continue; // not a table's row schema
        const collection = Object.entries<any>(paths).find(([path]) =>
            path.endsWith(`/${name}/`) && !path.includes("{"))?.[1] ?? {};
        const one = Object.entries<any>(paths).find(([path]) =>
            path.endsWith(`/${name}/{pk}/`))?.[1] ?? {};
        const parameters = new Map<string, any>((collection.get?.parameters ?? [])
            .map((p: any) => p.$ref ? resolveRef(document, p.$ref) : p)
            .map((p: any) => [p?.name, p]));
        const pageSize = parameters.get("__page_size")?.schema;
        const columns = columnsOf(schemas[`${name}Input`], row);
        const filters = columns.filter((column) => parameters.has(column.name)).map((column) => ({
            column,
            operators: parameters.get(`${column.name}__operator`)?.schema?.enum ?? [],
            matchModes: parameters.get(`${column.name}__match`)?.schema?.enum ?? [],
        }));
        tables.push({
            name,
            primaryKey,
            readable: row["x-restable-readable"],
            columns,
            canCreate: !!collection.post,
            bulkDelete: !!collection.delete,
            bulkUpdate: !!collection.patch,
            policies: {
                read: policyOf(collection.get, secured),
                write: policyOf(collection.post ?? one.patch, secured),
                delete: policyOf(one.delete, secured),
                bulkUpdate: policyOf(collection.patch, secured),
            },
            pageSize: pageSize?.default ?? 25,
            maxPageSize: pageSize?.maximum ?? 100,
            filters,
        });
    }
    const loginEnabled = Object.entries<any>(paths).some(([path, item]) =>
        path.endsWith("/auth/login") && item.post);
    return {
        tables,
        secured,
        loginEnabled,
        scopeClaim: bearer["x-restable-scope-claim"] ?? "/scope",
        rolesClaim: bearer["x-restable-roles-claim"] ?? "/roles",
    };
}

function resolveRef(document: any, ref: string): any {
    return ref.replace(/^#\//, "").split("/").reduce((node, key) => node?.[key], document);
}
