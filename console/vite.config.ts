import { defineConfig } from "vite";
import { resolve } from "node:path";

// The build lands inside the Python package, which serves it at /console (no Node at run time).
// CONSOLE_OUT_DIR lets the test suite rebuild elsewhere and compare with the committed files.
export default defineConfig({
  base: "/console/",
  build: {
    outDir: process.env.CONSOLE_OUT_DIR ?? resolve(import.meta.dirname, "../shared/continuum/console/static"),
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
  },
});
