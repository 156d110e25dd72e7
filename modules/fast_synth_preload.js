"use strict";
/**
 * Node preload for the jsii kernel (modules/fast_synth.py starts the kernel with `--require` of
 * this file). It makes the prebuilt provider's lib/index.js lazy, warms the submodules the app
 * uses, defers cdktf's zip library, skips the JavaScript stack cdktf keeps for every token, and
 * runs cdktf's `terraform version` check once per binary. Each node internal and engine file it
 * relies on is listed in fast_synth.py's INTERNALS, and the kernel runs it only with the
 * versions fast_synth.py's WRITTEN_FOR names.
 *
 * Engines. Both engines of modules/engine.py are known: CDKTF (`cdktf`, `@cdktf/provider-aws`)
 * and CDK Terrain (`cdktn`, `@cdktn/provider-aws`), whose files sit at the same paths under their
 * own package names. "cdktf" below means either.
 *
 * Lazy index. The provider's index runs `exports.x = require("./x")` for every one of its
 * ~2,200 submodules when the kernel loads the assembly — about 1.7 s and 560 MB of node alone
 * (measured), although a synth uses a few dozen.
 * We hook node's module compiler and answer exactly that one file with an object of lazy
 * getters, one per `exports.X = require("./Y")` line: a submodule is required the first time
 * the kernel looks it up, and the getter then replaces itself by the value.
 * Only a provider index inside the kernel's temporary folder matches:
 *   <tmp>/jsii-kernel-XXXX/node_modules/@cdktf/provider-<name>/lib/index.js
 * Two layouts are known: cdktf's bindings write `exports.x = require("./x");`, cdktn's
 * `exports.x = __importStar(require("./x/index"));` after TypeScript's three helper functions
 * (`__createBinding`, `__setModuleDefault`, `__importStar`: definitions only), whose meaning
 * `importStar` below repeats. Any line this file does not understand (a new binding layout) keeps
 * the original code: the synth stays correct, one warning line on stderr says so, and the report
 * below says `fallback` so that the tests fail loudly.
 *
 * Warm-up. FAST_SYNTH_WARM_SUBMODULES lists (comma-separated jsii names) the submodules the
 * app's code names. Right after the index is replaced, before the kernel reads its next
 * request, they are required: node does it while Python is still loading the config and its
 * modules, instead of during the build, when Python waits for every answer. A name that is not
 * in the index, or whose module throws, is skipped here; its getter throws again when used.
 *
 * Zip library. cdktf's lib/private/fs.js requires `archiver` when cdktf loads (~40 ms; cdktn's
 * requires `fflate`, ~20 ms), but only uses it to zip an asset directory, which this app never
 * asks for. Inside the kernel that require is answered with a stand-in that loads the library on
 * first use.
 *
 * Token stacks. Every token cdktf creates (each attribute reference, each lazy value) captures
 * the whole JavaScript call stack (~45 ms a synth in all), only to print it if the token later
 * fails to resolve. Called from Python, those frames are the jsii kernel's, never the app's:
 * inside the kernel cdktf's captureStackTrace (cdktn's captureCreationStack, which its tokens
 * call instead) returns an empty stack; errors keep their message.
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
const CORE = "(?:cdktf|cdktn)"; // the engines' core packages; their providers are @cdktf/, @cdktn/
const INDEX_PATH = new RegExp(
  IN_KERNEL + String.raw`@${CORE}[\\/]provider-[a-z0-9-]+[\\/]lib[\\/]index\.js$`,
);
const VERSION_CHECK_PATH = new RegExp(
  IN_KERNEL + String.raw`${CORE}[\\/]lib[\\/]validations[\\/]validate-binary-version\.js$`,
);
const STACK_TRACE_PATH = new RegExp(
  IN_KERNEL + String.raw`${CORE}[\\/]lib[\\/]tokens[\\/]private[\\/]stack-trace\.js$`,
);
const CDKTF_FS_PATH = new RegExp(IN_KERNEL + String.raw`${CORE}[\\/]lib[\\/]private[\\/]fs\.js$`);
// `exports.X = require("./Y");` (cdktf) or `exports.X = __importStar(require("./Y/index"));` (cdktn)
const ZIP_LIBRARIES = new Set(["archiver", "fflate"]); // cdktf's, cdktn's
const REQUIRE_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+(?:\/[\w.-]+)*)"\);$/;
const IMPORT_STAR_LINE =
  /^exports\.([A-Za-z_$][\w$]*) = __importStar\(require\("(\.\/[\w.-]+(?:\/[\w.-]+)*)"\)\);$/;
// The first line of one of TypeScript's helper definitions; the lines that continue it are
// indented or start with a closing bracket.
const HELPER_START = /^var (__createBinding|__setModuleDefault|__importStar) = \(this && this\.\1\) \|\| /;
const HELPER_CONTINUATION = /^(?:\s|[})])/;
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

/**
 * The `[name, relative path, wrapped in __importStar]` triples of the index, or a string saying
 * why it is not understood.
 */
function parseIndex(content) {
  const pairs = [];
  let inHelper = false;
  for (const line of content.split(/\r?\n/)) {
    if (inHelper && HELPER_CONTINUATION.test(line)) continue;
    inHelper = HELPER_START.test(line);
    if (inHelper) continue;
    const plain = REQUIRE_LINE.exec(line);
    const star = plain ? null : IMPORT_STAR_LINE.exec(line);
    const match = plain || star;
    if (match) pairs.push([match[1], match[2], star !== null]);
    else if (!INERT_LINES.some((inert) => inert.test(line))) return `unexpected line: ${line.slice(0, 120)}`;
  }
  return pairs.length > 0 ? pairs : "no require lines";
}

/** What TypeScript's `__importStar(mod)` returns: an ES module as it is, else a namespace copy. */
function importStar(mod) {
  if (mod && mod.__esModule) return mod;
  const result = {};
  if (mod != null) {
    for (const key of Object.getOwnPropertyNames(mod)) {
      if (key === "default") continue;
      const own = Object.getOwnPropertyDescriptor(mod, key);
      const live = !own || ("get" in own ? !mod.__esModule : own.writable || own.configurable);
      Object.defineProperty(result, key, live ? { enumerable: true, get: () => mod[key] } : own);
    }
  }
  Object.defineProperty(result, "default", { enumerable: true, value: mod });
  return result;
}

function defineLazyExports(module, pairs) {
  Object.defineProperty(module.exports, "__esModule", { value: true });
  for (const [name, relative, star] of pairs) {
    Object.defineProperty(module.exports, name, {
      configurable: true,
      enumerable: true,
      get() {
        const required = module.require(relative);
        const value = star ? importStar(required) : required;
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
  if (ZIP_LIBRARIES.has(request) && parent && CDKTF_FS_PATH.test(parent.filename)) {
    report.deferred.push(request);
    writeReport();
    return deferredModule(request, () => originalLoad.call(this, request, parent, isMain));
  }
  return originalLoad.call(this, request, parent, isMain);
};

const originalCompile = Module.prototype._compile;
Module.prototype._compile = function compile(content, filename, ...rest) {
  if (STACK_TRACE_PATH.test(filename)) {
    const result = originalCompile.call(this, content, filename, ...rest);
    // cdktf's tokens call captureStackTrace, cdktn's captureCreationStack (both through exports)
    for (const name of ["captureStackTrace", "captureCreationStack"]) {
      if (typeof this.exports[name] !== "function") continue;
      this.exports[name] = function skippedStackTrace() {
        return [];
      };
      report.tokenStacks = "skipped";
    }
    writeReport();
    return result;
  }
  if (VERSION_CHECK_PATH.test(filename)) {
    const result = originalCompile.call(this, content, filename, ...rest);
    cacheVersionChecks(this.exports);
    return result;
  }
  if (!INDEX_PATH.test(filename)) return originalCompile.call(this, content, filename, ...rest);
  const parsed = parseIndex(content);
  report.index = filename;
  if (typeof parsed === "string") {
    report.fallback = parsed;
    writeReport();
    process.stderr.write(
      `warning: fast synth does not know this provider index's layout, so it loads whole ` +
        `(slower; same output): ${filename}: ${parsed}\n`,
    );
    return originalCompile.call(this, content, filename, ...rest);
  }
  defineLazyExports(this, parsed);
  warmUp(this.exports, warmNames);
  report.exports = parsed.length;
  writeReport();
  return undefined;
};
