// src/api.ts — the one way the admin talks to restable: the API's base URL (one folder above
// the page, so any server.base_path works), the token kept in sessionStorage, and fetch with
// the token and JSON errors turned into react-admin's HttpError (a 422's fields under
// body.errors, so forms show each message under its input).
import { HttpError } from "react-admin";

export const apiBase = new URL("../", document.baseURI).toString();
const TOKEN_KEY = "restable-admin-token";

export function getToken(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
    if (token)
        sessionStorage.setItem(TOKEN_KEY, token);
    else
        sessionStorage.removeItem(TOKEN_KEY);
}

export interface ApiResponse {
    status: number;
    headers: Headers;
    json: any;
}

interface RestableError {
    status?: number;
    message?: string;
    field?: string;
    errors?: { field?: string; message?: string }[];
}

/* restable's {"error": {...}} as an HttpError: react-admin notifies its message, and a form
 * shows body.errors[field] under that field. */
function toHttpError(status: number, json: any): HttpError {
    const error: RestableError = (json && json.error) || {};
    const message = error.message || `the server answered ${status}`;
    const fields: Record<string, string> = {};
    for (const item of error.errors || [])
        if (item.field && item.message)
            fields[item.field] = item.message;
    if (error.field && !fields[error.field])
        fields[error.field] = message;
    const body = Object.keys(fields).length ? { errors: fields, error } : { error };
    return new HttpError(message, status, body);
}

export async function apiFetch(path: string, init: RequestInit = {}): Promise<ApiResponse> {
    const headers = new Headers(init.headers);
    headers.set("Accept", "application/json");
    if (init.body !== undefined)
        headers.set("Content-Type", "application/json");
    const token = getToken();
    if (token)
        headers.set("Authorization", `Bearer ${token}`);
    const response = await fetch(apiBase + path.replace(/^\//, ""), { ...init, headers });
    const text = await response.text();
    let json: any = null;
    if (text) {
        try {
            json = JSON.parse(text);
        } catch {
            json = null;
        }
    }
    if (response.status >= 400)
        throw toHttpError(response.status, json);
    return { status: response.status, headers: response.headers, json };
}
