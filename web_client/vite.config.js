// The build of the browser client (`npm run build`, `make client`): every page the server
// serves, minified, with hashed file names, into ../server/static/ (package data of the
// Python package `server`, so the wheel carries it). The server serves the build as it is
// (server/http/static_files.py); `client_dev` serves these sources instead, unbuilt.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** The pages, by the name the server asks for (server/http/routes.py serve_page). */
const PAGES = ['index', 'console', 'archive', 'replay'];
const OUT_DIR = here('../server/static');

/**
 * The sources name their files as the server serves them unbuilt (`/app/style.css`) and
 * leave a placeholder for the import map the server inserts then. For the build the
 * files are named from the project root, and there is no import map: Vite resolves the
 * npm packages itself, and the pages keep no inline script (the CSP has no hash for one).
 */
function sourcePaths() {
  return {
    name: 'hiroba-source-paths',
    transformIndexHtml: {
      order: 'pre',
      handler: (html) => html.replace(/(src|href)="\/app\//g, '$1="/').replace(/\s*<!-- hiroba:importmap -->/, ''),
    },
  };
}

export default defineConfig({
  root: here('.'),
  // Served under /app/ as in dev mode: one prefix for the server's static route.
  base: '/app/',
  publicDir: false,
  plugins: [sourcePaths()],
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    // Every emitted file but the pages lives here, named with its content hash: the server
    // serves this folder as immutable.
    assetsDir: 'assets',
    // Nothing inlined as data: URLs: the catalogues are fetched (connect-src 'self' refuses
    // data:), and the WASM must stay a file of its own, byte for byte.
    assetsInlineLimit: 0,
    // Browsers without <link rel=modulepreload> load the chunks when imported.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rolldownOptions: {
      input: Object.fromEntries(PAGES.map((p) => [p, here(`${p}.html`)])),
    },
  },
  worker: {
    // The tracking worker is a module worker that imports tasks-vision lazily.
    format: 'es',
  },
});
