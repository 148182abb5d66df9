// src/main.tsx — the admin UI's entry: reads /openapi.json, then renders react-admin with
// restable's data and auth providers and one resource per table the token may read. Hash
// routing (/admin/#/movie/1/show), so the server needs no fallback for client-side routes.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Admin, CustomRoutes } from "react-admin";
import { apiFetch } from "./api";
import { restableAuthProvider } from "./authProvider";
import { restableDataProvider } from "./dataProvider";
import { LoginPage } from "./LoginPage";
import { anonymous, rightsOn, type Principal } from "./permissions";
import { describeApi, type ApiDescription } from "./schema";
import { tableResource } from "./resources";

function App({ api }: { api: ApiDescription }) {
    return (
        <Admin title="restable admin" dataProvider={restableDataProvider(api)}
               authProvider={restableAuthProvider(api)}
               loginPage={() => <LoginPage loginEnabled={api.loginEnabled} />}
               requireAuth disableTelemetry>
            {(permissions: Principal | undefined) => {
                const principal = permissions ?? anonymous;
                const resources = api.tables
                    .map((table) => ({ table, rights: rightsOn(table, principal) }))
                    .filter(({ rights }) => rights.read)
                    .map(({ table, rights }) => tableResource(table, api.tables, rights));
                return resources.length ? resources : <CustomRoutes>{[]}</CustomRoutes>;
            }}
        </Admin>
    );
}

const root = createRoot(document.getElementById("root")!);
apiFetch("openapi.json")
    .then((answer) => root.render(<StrictMode><App api={describeApi(answer.json)} /></StrictMode>))
    .catch((error) => root.render(<p>Cannot read the API description: {String(error?.message)}</p>));
