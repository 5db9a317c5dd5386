// node-fetch v2 (inside @kubernetes/client-node) imports whatwg-url only as a
// fallback for runtimes without a global URL; Node.js has one. Aliasing it
// here keeps ~300 KB (whatwg-url and tr46) out of every bundle.
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
export default { URL, URLSearchParams };
