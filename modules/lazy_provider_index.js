"use strict";
/**
 * Node preload for the jsii kernel: makes the prebuilt provider's lib/index.js lazy (issue 5).
 *
 * Why: the provider's index runs `exports.x = require("./x")` for every one of its ~2,200
 * submodules when the kernel loads the assembly — about 1.7 s and 560 MB of node alone
 * (../../shared/FACTS.md, "Import cost dominates synth"), although a synth uses a handful.
 * modules/lazy_provider.py puts this file into NODE_OPTIONS (`--require`) before the jsii
 * kernel starts. Here we hook node's module compiler and answer exactly that one file with an
 * object of lazy getters, one per `exports.X = require("./Y")` line: a submodule is required
 * the first time the kernel looks it up, and the getter then replaces itself by the value.
 *
 * Only a provider index inside the kernel's temporary folder matches:
 *   <tmp>/jsii-kernel-XXXX/node_modules/@cdktf/provider-<name>/lib/index.js
 * Any line this file does not understand (a new binding layout) keeps the original code: the
 * synth stays correct, and the report below says `fallback` so that the tests fail loudly.
 *
 * Report: when LAZY_PROVIDER_REPORT names a file, it is rewritten (synchronously, before the
 * kernel answers) whenever the index is replaced or a getter resolves:
 *   {"pid", "index", "exports", "resolved": [...], "fallback": null | reason}
 */

const fs = require("fs");
const Module = require("module");

const INDEX_PATH = /[\\/]jsii-kernel-[^\\/]+[\\/]node_modules[\\/]@cdktf[\\/]provider-[a-z0-9-]+[\\/]lib[\\/]index\.js$/;
const REQUIRE_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
// Lines of the generated index that carry no behaviour besides the requires.
const INERT_LINES = [
  /^$/,
  /^"use strict";$/,
  /^\/\*\*$/,
  /^ \*.*$/,
  /^\/\/.*$/,
  /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/,
  /^exports\.[\w$]+( = exports\.[\w$]+)* = void 0;$/,
];

const reportPath = process.env.LAZY_PROVIDER_REPORT;
const report = { pid: process.pid, index: null, exports: 0, resolved: [], fallback: null };

function writeReport() {
  if (reportPath) fs.writeFileSync(reportPath, JSON.stringify(report));
}

/** The `[name, relative path]` pairs of the index, or a string saying why it is not understood. */
function parseIndex(content) {
  const pairs = [];
  for (const line of content.split(/\r?\n/)) {
    const match = REQUIRE_LINE.exec(line);
    if (match) pairs.push([match[1], match[2]]);
    else if (!INERT_LINES.some((inert) => inert.test(line))) return `unexpected line: ${line.slice(0, 120)}`;
  }
  return pairs.length > 0 ? pairs : "no require lines";
}

function defineLazyExports(module, pairs) {
  Object.defineProperty(module.exports, "__esModule", { value: true });
  for (const [name, relative] of pairs) {
    Object.defineProperty(module.exports, name, {
      configurable: true,
      enumerable: true,
      get() {
        const value = module.require(relative);
        Object.defineProperty(module.exports, name, { value, writable: true, enumerable: true });
        report.resolved.push(name);
        writeReport();
        return value;
      },
    });
  }
}

const originalCompile = Module.prototype._compile;
Module.prototype._compile = function compile(content, filename) {
  if (!INDEX_PATH.test(filename)) return originalCompile.call(this, content, filename);
  const parsed = parseIndex(content);
  report.index = filename;
  if (typeof parsed === "string") {
    report.fallback = parsed;
    writeReport();
    return originalCompile.call(this, content, filename);
  }
  defineLazyExports(this, parsed);
  report.exports = parsed.length;
  writeReport();
  return undefined;
};
