// Build steps of our own, kept beside the config that uses them:
// - the service worker, written after the bundle with the exact list of the shell's files
//   (so it caches the application's shell and nothing else, never an API answer);
// - precompressed copies (.br, .gz) the gateway serves to browsers that take them.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Plugin } from "vite";

/** Files of the shell: what a signed-out phone needs to show the sign-in screen offline. */
function shellFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!/\.(br|gz|map)$/.test(name) && name !== "sw.js") out.push("/" + relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

export function serviceWorker(): Plugin {
  let outDir = "dist";
  return {
    name: "tsunagu-service-worker",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle: {
      order: "pre",
      handler() {
        const files = shellFiles(outDir).filter((f) => f !== "/index.html");
        const version = createHash("sha256").update(files.join("\n")).digest("hex").slice(0, 16);
        const template = readFileSync(new URL("./sw.template.js", import.meta.url), "utf8");
        const worker = template
          .replace("__VERSION__", JSON.stringify(version))
          .replace("__SHELL__", JSON.stringify(["/", ...files]));
        writeFileSync(join(outDir, "sw.js"), worker);
      },
    },
  };
}

export function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "tsunagu-precompress",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle: {
      order: "post",
      handler() {
        for (const file of shellFiles(outDir).concat("/sw.js")) {
          if (!/\.(js|css|html|svg|webmanifest|json|txt)$/.test(file)) continue;
          const path = join(outDir, file);
          const bytes = readFileSync(path);
          writeFileSync(path + ".gz", gzipSync(bytes, { level: 9 }));
          writeFileSync(
            path + ".br",
            brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
          );
        }
      },
    },
  };
}
