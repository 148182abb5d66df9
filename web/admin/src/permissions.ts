// src/permissions.ts — what the signed-in token may do, worked out the way the server does
// (docs/auth.md): its scopes and roles are read at the JSON Pointers the OpenAPI names
// (x-restable-scope-claim, x-restable-roles-claim; roles also from "role"), and a policy is
// "public", "authenticated" or a list of "scope:NAME" / "role:NAME" grants, any one of which
// suffices. The server still checks every request; this only hides what would be refused.
import type { ApiDescription, Policy, Table } from "./schema";

export interface Principal {
    authenticated: boolean;
    subject?: string;
    scopes: string[];
    roles: string[];
    expiresAt?: number; // seconds since the epoch
}

export const anonymous: Principal = { authenticated: false, scopes: [], roles: [] };

/* The payload of a JWT, not verified (the server verifies it on every request). */
export function decodeToken(token: string): any {
    const part = token.split(".")[1];
    if (!part) return null;
    try {
        const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
        const text = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
        return JSON.parse(decodeURIComponent(Array.from(text, (c) =>
            "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("")));
    } catch {
        return null;
    }
}

/* RFC 6901: "/a/b~1c" → claims.a["b/c"] */
function atPointer(claims: any, pointer: string): any {
    if (!pointer) return claims;
    return pointer.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((node, key) => (node == null ? undefined : node[key]), claims);
}

function words(value: any, split: boolean): string[] {
    if (Array.isArray(value)) return value.filter((v) => typeof v === "string");
    if (typeof value === "string") return split ? value.split(" ").filter(Boolean) : [value];
    return [];
}

export function principalOf(token: string | null, api: ApiDescription): Principal {
    const claims = token ? decodeToken(token) : null;
    if (!claims) return anonymous;
    const roles = words(atPointer(claims, api.rolesClaim), false);
    if (typeof claims.role === "string") roles.push(claims.role);
    return {
        authenticated: true,
        subject: typeof claims.sub === "string" ? claims.sub : undefined,
        scopes: words(atPointer(claims, api.scopeClaim), true),
        roles,
        expiresAt: typeof claims.exp === "number" ? claims.exp : undefined,
    };
}

export function allows(policy: Policy, principal: Principal): boolean {
    if (policy === "public") return true;
    if (!principal.authenticated) return false;
    if (policy === "authenticated") return true;
    return policy.some((grant) =>
        (grant.startsWith("scope:") && principal.scopes.includes(grant.slice(6))) ||
        (grant.startsWith("role:") && principal.roles.includes(grant.slice(5))));
}

export interface TableRights {
    read: boolean;
    write: boolean; // create and edit
    delete: boolean;
    bulkDelete: boolean;
    bulkUpdate: boolean; // PATCH /T/?__ids= (allow_bulk_update)
}

export function rightsOn(table: Table, principal: Principal): TableRights {
    const read = allows(table.policies.read, principal);
    const write = read && table.canCreate && allows(table.policies.write, principal);
    const remove = read && table.canCreate && allows(table.policies.delete, principal);
    const bulkUpdate = write && table.bulkUpdate && allows(table.policies.bulkUpdate, principal);
    return { read, write, delete: remove, bulkDelete: remove && table.bulkDelete, bulkUpdate };
}
