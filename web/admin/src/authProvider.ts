// src/authProvider.ts — sign-in for react-admin: POST /auth/login (username, password) when the
// server has login on, or a token pasted as it is; the token lives in sessionStorage (gone
// with the tab). A 401 from the API signs out; permissions are the token's principal
// (src/permissions.ts). With no auth configured on the server, everyone is let in.
import type { AuthProvider } from "react-admin";
import { apiFetch, getToken, setToken } from "./api";
import { principalOf } from "./permissions";
import type { ApiDescription } from "./schema";

export function restableAuthProvider(api: ApiDescription): AuthProvider {
    const everythingPublic = !api.secured || api.tables.every((t) => t.policies.read === "public");
    const expired = () => {
        const principal = principalOf(getToken(), api);
        return principal.expiresAt !== undefined && principal.expiresAt * 1000 < Date.now();
    };
    return {
        async login(params: { username?: string; password?: string; token?: string }) {
            if (params.token) {
                const token = params.token.trim().replace(/^Bearer\s+/i, "");
                if (!principalOf(token, api).authenticated)
                    throw new Error("that is not a JWT (three base64url parts separated by dots)");
                setToken(token);
                return;
            }
            const answer = await apiFetch("auth/login", {
                method: "POST",
                body: JSON.stringify({ username: params.username, password: params.password }),
            });
            setToken(answer.json.token);
        },
        async logout() {
            setToken(null);
        },
        async checkAuth() {
            if (getToken() && expired()) setToken(null);
            if (!getToken() && !everythingPublic) throw new Error("sign in first");
        },
        async checkError(error: any) {
            if (error?.status === 401) {
                setToken(null);
                throw new Error("the server asked for a token again");
            }
        },
        async getPermissions() {
            return principalOf(getToken(), api);
        },
        async getIdentity() {
            const principal = principalOf(getToken(), api);
            return { id: principal.subject ?? "anonymous", fullName: principal.subject ?? "anonymous" };
        },
    };
}
