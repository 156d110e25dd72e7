"use strict";
/**
 * Node preload for the jsii kernel (issue 5; modules/fast_synth.py starts the kernel with
 * `--require` of this file). It makes the prebuilt provider's lib/index.js lazy, warms the
 * submodules the app uses, defers cdktf's zip library, skips the JavaScript stack cdktf keeps
 * for every token, and runs cdktf's `terraform version` check once per binary.
 *
 * Lazy index. The provider's index runs `exports.x = require("./x")` for every one of its
 * ~2,200 submodules when the kernel loads the assembly — about 1.7 s and 560 MB of node alone
 * (../../shared/FACTS.md, "Import cost dominates synth"), although a synth uses a few dozen.
 * We hook node's module compiler and answer exactly that one file with an object of lazy
 * getters, one per `exports.X = require("./Y")` line: a submodule is required the first time
 * the kernel looks it up, and the getter then replaces itself by the value.
 * Only a provider index inside the kernel's temporary folder matches:
 *   <tmp>/jsii-kernel-XXXX/node_modules/@cdktf/provider-<name>/lib/index.js
 * Any line this file does not understand (a new binding layout) keeps the original code: the
 * synth stays correct, and the report below says `fallback` so that the tests fail loudly.
 *
 * Warm-up. FAST_SYNTH_WARM_SUBMODULES lists (comma-separated jsii names) the submodules the
 * app's code names. Right after the index is replaced, before the kernel reads its next
 * request, they are required: node does it while Python is still loading the config and its
 * modules, instead of during the build, when Python waits for every answer. A name that is not
 * in the index, or whose module throws, is skipped here; its getter throws again when used.
 *
 * Zip library. cdktf's lib/private/fs.js requires `archiver` when cdktf loads (~40 ms), but
 * only uses it when it runs as a separate process to zip an asset directory. Inside the kernel
 * that require is answered with a stand-in that loads archiver on first use.
 *
 * Token stacks. Every token cdktf creates (each attribute reference, each lazy value) captures
 * the whole JavaScript call stack (~45 ms a synth in all), only to print it if the token later
 * fails to resolve. Called from Python, those frames are the jsii kernel's, never the app's:
 * inside the kernel cdktf's captureStackTrace returns an empty stack; errors keep their message.
 *
 * Version check. cdktf checks `terraform version` by running it (execSync: ~50 ms and a 60 MB
 * process, the peak of the whole synth's memory) once per construct that asks for it — every
 * DataResource, so every service. Its output is kept per binary (resolved path, size, mtime):
 * in memory, and in $XDG_CACHE_HOME/fargate-worker-platform/version-checks.json (default
 * ~/.cache) across runs. A replaced or different binary has another key and runs again; the
 * validation itself (parsing and comparing the version) still runs every time.
 *
 * Report: when FAST_SYNTH_REPORT names a file, it is rewritten (synchronously, before the
 * kernel answers) whenever something here happens:
 *   {"pid", "ppid", "index", "exports", "warmed": [...], "resolved": [...],
 *    "fallback": null | reason, "deferred": ["archiver" once stood in for, "archiver:loaded"],
 *    "tokenStacks": "captured" | "skipped",
 *    "versionChecks": {"<command>": {"calls": n, "runs": executed, "cached": from disk}}
 *                     | null while cdktf's check is not patched}
 */

const childProcess = require("child_process");
const fs = require("fs");
const Module = require("module");
const os = require("os");
const path = require("path");

const IN_KERNEL = String.raw`[\\/]jsii-kernel-[^\\/]+[\\/]node_modules[\\/]`;
const INDEX_PATH = new RegExp(IN_KERNEL + String.raw`@cdktf[\\/]provider-[a-z0-9-]+[\\/]lib[\\/]index\.js$`);
const VERSION_CHECK_PATH = new RegExp(
  IN_KERNEL + String.raw`cdktf[\\/]lib[\\/]validations[\\/]validate-binary-version\.js$`,
);
const STACK_TRACE_PATH = new RegExp(
  IN_KERNEL + String.raw`cdktf[\\/]lib[\\/]tokens[\\/]private[\\/]stack-trace\.js$`,
);
const CDKTF_FS_PATH = new RegExp(IN_KERNEL + String.raw`cdktf[\\/]lib[\\/]private[\\/]fs\.js$`);
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

const reportPath = process.env.FAST_SYNTH_REPORT;
const warmNames = (process.env.FAST_SYNTH_WARM_SUBMODULES || "").split(",").filter(Boolean);
const report = {
  pid: process.pid,
  ppid: process.ppid,
  index: null,
  exports: 0,
  warmed: [],
  resolved: [],
  fallback: null,
  deferred: [],
  tokenStacks: "captured",
  versionChecks: null,
};

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

/** Require the listed submodules once the kernel is between requests (see the header). */
function warmUp(exports, names) {
  setImmediate(() => {
    for (const name of names) {
      if (!Object.prototype.hasOwnProperty.call(exports, name)) continue;
      try {
        void exports[name];
        report.warmed.push(name);
      } catch {
        // left to the getter: it throws again, with its own error, if the synth uses it
      }
    }
    writeReport();
  });
}

/** The installed binary a version command runs, as a cache key; null if it is not found. */
function binaryIdentity(command) {
  const name = command.trim().split(/\s+/)[0];
  const dirs = name.includes(path.sep) ? [""] : (process.env.PATH || "").split(path.delimiter);
  for (const dir of dirs) {
    try {
      const file = fs.realpathSync(path.resolve(dir, name));
      const stat = fs.statSync(file);
      if (stat.isFile() && stat.mode & 0o111) return [file, stat.size, stat.mtimeMs];
    } catch {
      // not in this folder
    }
  }
  return null;
}

const versionCacheFile = path.join(
  process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
  "fargate-worker-platform",
  "version-checks.json",
);

const versionOutputs = new Map(); // this process's answers, by key

function readVersionCache() {
  try {
    const cache = JSON.parse(fs.readFileSync(versionCacheFile, "utf8"));
    return cache && typeof cache === "object" ? cache : {};
  } catch {
    return {};
  }
}

function writeVersionCache(cache) {
  try {
    fs.mkdirSync(path.dirname(versionCacheFile), { recursive: true });
    const partial = `${versionCacheFile}.${process.pid}`;
    fs.writeFileSync(partial, JSON.stringify(cache));
    fs.renameSync(partial, versionCacheFile); // atomic: concurrent synths never read half a file
  } catch {
    // an unwritable cache only costs the next run one more execution
  }
}

/** cdktf's ValidateBinaryVersion runs its command once per binary (see the header). */
function cacheVersionChecks(exports) {
  const prototype = exports.ValidateBinaryVersion && exports.ValidateBinaryVersion.prototype;
  if (!prototype || typeof prototype.validate !== "function") return;
  const validate = prototype.validate;
  report.versionChecks = {};
  prototype.validate = function validateWithCachedVersion() {
    const command = String(this.versionCommand);
    const counts = (report.versionChecks[command] ??= { calls: 0, runs: 0, cached: 0 });
    counts.calls += 1;
    const identity = binaryIdentity(command);
    const execSync = childProcess.execSync;
    // validate() calls child_process.execSync(versionCommand) synchronously: answer it here.
    childProcess.execSync = function execSyncCached(commandLine, options) {
      if (commandLine !== command || identity === null) return execSync.call(this, commandLine, options);
      const key = JSON.stringify([command, identity]);
      if (!versionOutputs.has(key)) {
        const cache = readVersionCache();
        if (typeof cache[key] === "string") {
          counts.cached += 1;
          versionOutputs.set(key, cache[key]);
        } else {
          const output = execSync.call(this, commandLine, options).toString(); // throws as before
          counts.runs += 1;
          versionOutputs.set(key, output);
          writeVersionCache({ ...cache, [key]: output });
        }
      }
      return Buffer.from(versionOutputs.get(key));
    };
    try {
      return validate.call(this);
    } finally {
      childProcess.execSync = execSync;
      writeReport();
    }
  };
  writeReport();
}

/** A stand-in for a module whose value is a function: the module loads on first call or use. */
function deferredModule(name, load) {
  let loaded;
  const real = () => {
    if (loaded === undefined) {
      loaded = load();
      report.deferred.push(`${name}:loaded`);
      writeReport();
    }
    return loaded;
  };
  return new Proxy(function deferred() {}, {
    apply: (_target, thisArg, args) => Reflect.apply(real(), thisArg, args),
    get: (_target, key) => real()[key],
    has: (_target, key) => key in real(),
  });
}

const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  if (request === "archiver" && parent && CDKTF_FS_PATH.test(parent.filename)) {
    report.deferred.push(request);
    writeReport();
    return deferredModule(request, () => originalLoad.call(this, request, parent, isMain));
  }
  return originalLoad.call(this, request, parent, isMain);
};

const originalCompile = Module.prototype._compile;
Module.prototype._compile = function compile(content, filename) {
  if (STACK_TRACE_PATH.test(filename)) {
    const result = originalCompile.call(this, content, filename);
    if (typeof this.exports.captureStackTrace === "function") {
      this.exports.captureStackTrace = function skippedStackTrace() {
        return [];
      };
      report.tokenStacks = "skipped";
      writeReport();
    }
    return result;
  }
  if (VERSION_CHECK_PATH.test(filename)) {
    const result = originalCompile.call(this, content, filename);
    cacheVersionChecks(this.exports);
    return result;
  }
  if (!INDEX_PATH.test(filename)) return originalCompile.call(this, content, filename);
  const parsed = parseIndex(content);
  report.index = filename;
  if (typeof parsed === "string") {
    report.fallback = parsed;
    writeReport();
    return originalCompile.call(this, content, filename);
  }
  defineLazyExports(this, parsed);
  warmUp(this.exports, warmNames);
  report.exports = parsed.length;
  writeReport();
  return undefined;
};
