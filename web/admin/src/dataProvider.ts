// src/dataProvider.ts — react-admin's data provider for restable's API (docs/api.md):
// lists with filters (col, col__operator, col__match), __order, __page/__page_size and the
// total from Content-Range (__range_header=true), one row with its ETag (kept for the
// If-Match of the next update or delete), several rows by __ids, rows referencing another by
// a foreign-key filter, creates, PATCH updates of the changed columns, bulk PATCH and DELETE
// by __ids where the table allows them (else one request per row).
import type { DataProvider, Identifier, RaRecord } from "react-admin";
import { apiFetch } from "./api";
import type { ApiDescription, Table } from "./schema";

/* The ETag each row had when it was last read or written, for If-Match. */
const etags = new Map<string, string>();
const etagKey = (resource: string, id: Identifier) => `${resource}\u0000${id}`;

function tableOf(api: ApiDescription, resource: string): Table {
    const table = api.tables.find((t) => t.name === resource);
    if (!table) throw new Error(`no table ${resource}`);
    return table;
}

/* react-admin wants an "id"; restable's key may have another name. */
function withId(table: Table, row: any): RaRecord {
    return { ...row, id: row[table.primaryKey] };
}

function keyPath(table: Table, id: Identifier): string {
    return `${table.name}/${encodeURIComponent(String(id))}/`;
}

/* Filter values as query parameters: col=v (repeated for a list of values; null → "null"),
 * col__operator and col__match as given. An operator other than is_null/not_null without a
 * value is left out (the user has not typed the value yet), as are empty values. */
function filterQuery(table: Table, filter: Record<string, any>, query: URLSearchParams): void {
    for (const [key, value] of Object.entries(filter ?? {})) {
        if (key.endsWith("__operator")) {
            const column = key.slice(0, -"__operator".length);
            const needsValue = value !== "is_null" && value !== "not_null";
            const hasValue = filter[column] !== undefined && filter[column] !== "";
            if (value && (!needsValue || hasValue)) query.append(key, value);
        } else if (key.endsWith("__match")) {
            if (value && filter[key.slice(0, -"__match".length)] !== undefined)
                query.append(key, value);
        } else if (table.columns.some((c) => c.name === key)) {
            const operator = filter[`${key}__operator`];
            if (operator === "is_null" || operator === "not_null") continue;
            for (const item of Array.isArray(value) ? value : [value]) {
                if (item === undefined || item === "") continue;
                query.append(key, item === null ? "null" : String(item));
            }
        }
    }
}

/* __ids's value: the keys, each escaped, comma-separated. */
function idList(ids: Identifier[]): string {
    return ids.map((id) => encodeURIComponent(String(id))).join(",");
}

function totalOf(headers: Headers, fallback: number): number {
    const range = headers.get("Content-Range");
    const total = range?.match(/\/(\d+)$/);
    return total ? Number(total[1]) : fallback;
}

/* What a form sends: only writable columns, secrets only when typed, no joined values. */
function writable(table: Table, data: any, previous?: any): Record<string, any> {
    const body: Record<string, any> = {};
    for (const column of table.columns) {
        if (column.readOnly || !(column.name in data)) continue;
        const value = data[column.name];
        if (column.secret && (value === undefined || value === null || value === "")) continue;
        if (previous && JSON.stringify(previous[column.name]) === JSON.stringify(value)) continue;
        body[column.name] = value === undefined ? null : value;
    }
    return body;
}

export function restableDataProvider(api: ApiDescription): DataProvider {
    async function getOne(resource: string, id: Identifier) {
        const table = tableOf(api, resource);
        const answer = await apiFetch(`${keyPath(table, id)}?__readable=true`);
        const etag = answer.headers.get("ETag");
        if (etag) etags.set(etagKey(resource, id), etag);
        return withId(table, answer.json);
    }

    async function list(resource: string, query: URLSearchParams) {
        const table = tableOf(api, resource);
        query.set("__readable", "true");
        query.set("__range_header", "true");
        const answer = await apiFetch(`${table.name}/?${query}`);
        const rows = (answer.json?.rows ?? []).map((row: any) => withId(table, row));
        return { data: rows, total: totalOf(answer.headers, rows.length) };
    }

    function pageQuery(pagination?: { page: number; perPage: number },
                       sort?: { field?: string; order: string }): URLSearchParams {
        const query = new URLSearchParams();
        if (pagination) {
            query.set("__page", String(pagination.page));
            query.set("__page_size", String(pagination.perPage));
        }
        if (sort?.field) query.set("__order", (sort.order === "DESC" ? "-" : "") + sort.field);
        return query;
    }

    async function deleteOne(resource: string, id: Identifier) {
        const table = tableOf(api, resource);
        const etag = etags.get(etagKey(resource, id));
        await apiFetch(keyPath(table, id), {
            method: "DELETE", headers: etag ? { "If-Match": etag } : {},
        });
        etags.delete(etagKey(resource, id));
    }

    return {
        async getList(resource, params) {
            const table = tableOf(api, resource);
            const sortField = params.sort?.field === "id" ? table.primaryKey : params.sort?.field;
            const query = pageQuery(params.pagination, params.sort && { ...params.sort, field: sortField });
            const filter = { ...params.filter };
            // an autocomplete's search goes to /T/ids/, which matches the readable text
            if (filter.__search !== undefined) return searchIds(table, String(filter.__search));
            filterQuery(table, filter, query);
            return list(resource, query);
        },
        async getOne(resource, params) {
            return { data: await getOne(resource, params.id) as any };
        },
        async getMany(resource, params) {
            if (!params.ids.length) return { data: [] };
            const table = tableOf(api, resource);
            const query = new URLSearchParams({ __ids: params.ids.join(","),
                                                __page_size: String(table.maxPageSize) });
            return { data: (await list(resource, query)).data as any };
        },
        async getManyReference(resource, params) {
            const table = tableOf(api, resource);
            const query = pageQuery(params.pagination, params.sort);
            filterQuery(table, { ...params.filter, [params.target]: params.id }, query);
            return list(resource, query) as any;
        },
        async create(resource, params) {
            const table = tableOf(api, resource);
            const answer = await apiFetch(`${table.name}/`, {
                method: "POST", body: JSON.stringify(writable(table, params.data)),
            });
            const key = answer.json?.[0]?.[table.primaryKey];
            return { data: await getOne(resource, key) as any };
        },
        async update(resource, params) {
            const table = tableOf(api, resource);
            const body = writable(table, params.data, params.previousData);
            if (!Object.keys(body).length) return { data: params.previousData as any };
            const etag = etags.get(etagKey(resource, params.id));
            const answer = await apiFetch(keyPath(table, params.id), {
                method: "PATCH", body: JSON.stringify(body),
                headers: etag ? { "If-Match": etag } : {},
            });
            const next = answer.headers.get("ETag");
            if (next) etags.set(etagKey(resource, params.id), next);
            return { data: withId(table, { ...params.previousData, ...answer.json }) as any };
        },
        async updateMany(resource, params) {
            const table = tableOf(api, resource);
            if (!params.ids.length) return { data: [] };
            const body = JSON.stringify(writable(table, params.data));
            if (table.bulkUpdate) {
                // the server refuses a bulk PATCH without __ids (400); it answers the rows changed
                const answer = await apiFetch(`${table.name}/?__ids=${idList(params.ids)}`,
                                              { method: "PATCH", body });
                return { data: (answer.json?.rows ?? []).map((r: any) => r[table.primaryKey]) };
            }
            for (const id of params.ids)
                await apiFetch(keyPath(table, id), { method: "PATCH", body });
            return { data: params.ids };
        },
        async delete(resource, params) {
            await deleteOne(resource, params.id);
            return { data: params.previousData as any };
        },
        async deleteMany(resource, params) {
            const table = tableOf(api, resource);
            if (!params.ids.length) return { data: [] };
            if (table.bulkDelete) {
                // never without __ids: that would delete every row
                await apiFetch(`${table.name}/?__ids=${idList(params.ids)}`, { method: "DELETE" });
            } else {
                for (const id of params.ids) await deleteOne(resource, id);
            }
            return { data: params.ids };
        },
    };
}

/* /T/ids/?search= as records {id, <readable>: text} for an autocomplete. */
async function searchIds(table: Table, search: string) {
    const query = new URLSearchParams({ search, limit: String(Math.min(25, table.maxPageSize)) });
    const answer = await apiFetch(`${table.name}/ids/?${query}`);
    const label = table.readable ?? table.primaryKey;
    const data = Object.entries<string>(answer.json ?? {}).map(([key, text]) => {
        const id = /^-?\d+$/.test(key) ? Number(key) : key;
        return { id, [table.primaryKey]: id, [label]: text };
    });
    return { data, total: data.length };
}
