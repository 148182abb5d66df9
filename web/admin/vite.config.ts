// web/admin/vite.config.ts — builds the admin UI into dist/ (index.html + assets/NAME-HASH.js),
// with relative URLs so the server can serve it under any base path. scripts/admin-assets
// runs it and gzips the result.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
    base: "./",
    plugins: [react()],
    build: {
        outDir: "dist",
        emptyOutDir: true,
        sourcemap: false,
        target: "es2020",
        // the whole app is one bundle of about 1.5 MB (400 KB gzipped); no warning for it
        chunkSizeWarningLimit: 2500,
        // fonts or images inlined in CSS would need no extra request; there are none today
        assetsInlineLimit: 8192,
    },
});
