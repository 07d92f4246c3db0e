'use strict';
/**
 * One local Lambda execution environment: the runtime side (what the Lambda Node.js runtime interface client does in
 * AWS), running in a worker_threads Worker started by function-runner.ts. Plain CommonJS on purpose: workers are
 * started with no loader (execArgv []), so this file must run on bare Node.
 *
 * Protocol (parentPort messages):
 *   worker -> parent  { type: 'log', stream: 'stdout'|'stderr', text }      any output, in order with the rest
 *                     { type: 'ready', initDurationMs, codeCache }          INIT finished (handler loaded); codeCache:
 *                                                                           'used' | 'rejected' | 'none' | 'off'
 *                     { type: 'code-cache', data }                          V8 code cache of the handler file, made
 *                                                                           after the first invocation (wantCodeCache)
 *                     { type: 'init-error', error }                         INIT failed; the worker then exits
 *                     { type: 'result', requestId, payload, heapUsedMB }    payload: the JSON text of the result
 *                     { type: 'error', requestId, error, heapUsedMB }       the handler failed; environment stays warm
 *                     { type: 'fatal', requestId?, error }                  uncaught exception / unhandled rejection;
 *                                                                           the worker exits right after
 *                     { type: 'died', requestId, awsCalls }                 an injected fault ended the environment
 *   workerData        codeCache?: a code cache of this function's handler file to compile it with
 *   parent -> worker  { type: 'invoke', requestId, event, deadlineMs, invokedFunctionArn, dieAfterAwsCalls? }
 *                     event: JSON text; dieAfterAwsCalls (fault injection): the environment exits right after the
 *                     k-th HTTP(S) response of the invocation has been read, or at the end if it makes fewer calls
 */
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const v8 = require('node:v8');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');
const Module = require('node:module');

const initStart = performance.now();
/** @type {{ taskRoot: string, handler: string, runtimeMajor: number, maxResponseBytes: number, forwardOutput?: boolean, codeCache?: Uint8Array, wantCodeCache?: boolean }} */
const config = workerData;

// ---- output: every write becomes a message, so lines arrive in order with the invocation's result ----
let currentRequestId; // undefined outside an invocation, as in AWS (text logs then read "undefined")

function chunkToText(chunk, encoding) {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString(typeof encoding === 'string' ? encoding : 'utf8');
  return String(chunk);
}

for (const stream of ['stdout', 'stderr']) {
  const target = process[stream];
  target.write = function write(chunk, encoding, callback) {
    // Nobody reads the output (no onLog): not sent, which saves a message per line on both threads.
    if (config.forwardOutput !== false) parentPort.postMessage({ type: 'log', stream, text: chunkToText(chunk, encoding) });
    const cb = typeof encoding === 'function' ? encoding : callback;
    if (typeof cb === 'function') process.nextTick(cb);
    return true;
  };
}

// ---- console, patched like the Lambda Node.js runtime: Text "ts\trequestId\tLEVEL\tmessage" or JSON records ----
const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
const jsonFormat = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
const minLevel = LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || LEVELS.TRACE;

function jsonErrorReplacer(_key, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: (value.constructor && value.constructor.name) || 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

function formatLine(level, message, params) {
  const timestamp = new Date().toISOString();
  if (!jsonFormat) return [timestamp, currentRequestId, level, util.format(message, ...params)].join('\t');
  const record = { timestamp, level, requestId: currentRequestId };
  if (params.length === 0) {
    record.message = message;
    try {
      return JSON.stringify(record, jsonErrorReplacer);
    } catch {
      record.message = util.format(message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(message, ...params);
  const error = params.find((p) => p instanceof Error);
  if (error) {
    record.errorType = (error.constructor && error.constructor.name) || 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

function logFunction(level) {
  if (LEVELS[level] < minLevel) return () => {};
  return (message, ...params) => {
    // A multi-line message stays one record: the runtime turns its newlines into carriage returns.
    process.stdout.write(formatLine(level, message, params).replace(/\n/g, '\r') + '\n');
  };
}
console.trace = logFunction('TRACE');
console.debug = logFunction('DEBUG');
console.info = logFunction('INFO');
console.warn = logFunction('WARN');
console.error = logFunction('ERROR');
console.fatal = logFunction('FATAL');
console.log = console.info;

// ---- errors, shaped like the runtime's response to Lambda ----
function formatError(error) {
  try {
    if (error instanceof Error || util.types.isNativeError(error)) {
      return {
        errorType: String(error.name),
        errorMessage: String(error.message),
        stackTrace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), stackTrace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      stackTrace: [],
    };
  }
}

function logInvokeError(label, error) {
  const err = error instanceof Error ? error : new Error(String(error));
  if (jsonFormat) {
    console.error(err);
    return;
  }
  let detail;
  try {
    detail = JSON.stringify(err, (_k, v) => {
      if (v instanceof Error) {
        const out = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
        if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
        return out;
      }
      return v;
    });
  } catch {
    detail = JSON.stringify(formatError(err));
  }
  console.error(label, '\t' + detail);
}

function namedError(name, message, stack) {
  const error = new Error(message);
  error.name = name;
  if (stack) error.stack = stack;
  return error;
}

function heapUsedMB() {
  return Math.round(v8.getHeapStatistics().used_heap_size / (1024 * 1024));
}

// ---- fatal errors: the environment does not survive them (the runtime exits 129 / 128) ----
process.on('uncaughtException', (error) => {
  logInvokeError('Uncaught Exception', error);
  parentPort.postMessage({ type: 'fatal', requestId: currentRequestId, error: formatError(error) });
  process.exit(129);
});
process.on('unhandledRejection', (reason) => {
  const error = namedError('Runtime.UnhandledPromiseRejection', reason === undefined || reason === null ? String(reason) : String(reason.toString()));
  logInvokeError('Unhandled Promise Rejection', error);
  parentPort.postMessage({ type: 'fatal', requestId: currentRequestId, error: formatError(error) });
  process.exit(128);
});

// ---- fault injection: die right after the k-th AWS call of an invocation took effect ----
// Every AWS SDK call is an HTTP(S) request (the SDK's handler reads node:http / node:https `request` when first used,
// so wrapping them here, before the handler loads, sees every call). A call counts when its response has been read:
// the service has done its part, and the function dies before it can act on the answer, as an OOM-killed or
// timed-out sandbox does.
let awsCalls = 0;
let dieAfterAwsCalls; // undefined: no fault for the invocation in flight
function die() {
  parentPort.postMessage({ type: 'died', requestId: currentRequestId, awsCalls });
  process.exit(137);
}
for (const moduleName of ['node:http', 'node:https']) {
  const transport = require(moduleName);
  const original = transport.request;
  transport.request = function request(...args) {
    const req = original.apply(this, args);
    const invocation = currentRequestId;
    req.on('response', (res) => {
      res.on('end', () => {
        if (invocation !== currentRequestId) return;
        awsCalls++;
        if (dieAfterAwsCalls !== undefined && awsCalls >= dieAfterAwsCalls) die();
      });
    });
    return req;
  };
  // http.get calls the module's own request, not the export: route it through the counting one.
  transport.get = function get(...args) {
    const req = transport.request(...args);
    req.end();
    return req;
  };
}

// ---- INIT: load the handler once per environment ----
function parseHandler(handlerString) {
  if (handlerString.includes('..')) {
    throw namedError('Runtime.MalformedHandlerName', `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const base = path.basename(handlerString);
  const moduleRoot = handlerString.substring(0, handlerString.length - base.length).replace(/\/$/, '');
  const match = /^([^.]*)\.(.*)$/.exec(base);
  if (!match) throw namedError('Runtime.MalformedHandlerName', 'Bad handler');
  return { moduleRoot, moduleName: match[1], handlerName: match[2] };
}

/** True when Node would load `file` as CommonJS: `.cjs`, or `.js` with no `"type": "module"` in the nearest package.json. */
function isCommonJS(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, 'utf8')).type !== 'module';
      } catch {
        return true;
      }
    }
    if (dir === path.dirname(dir)) return true;
  }
}

/**
 * The compiled handler file, kept to make a V8 code cache from after the first invocation (see codeCacheState).
 * Not something Lambda does: it spares the local machine recompiling the same bundle for every environment.
 */
let compiledScript;
/** 'used' | 'rejected' | 'none' (no cache given) | 'off' (not a CommonJS file): reported with `ready`. */
let codeCacheState = 'off';

/**
 * Loads a CommonJS file as `require` would (same wrapper, same module object in require.cache), compiled with the code
 * cache another environment of this function made. A cache V8 rejects (other flags or version) is ignored.
 */
function requireWithCodeCache(file) {
  const source = fs.readFileSync(file, 'utf8');
  const cachedData = config.codeCache ? Buffer.from(config.codeCache.buffer, config.codeCache.byteOffset, config.codeCache.byteLength) : undefined;
  compiledScript = new vm.Script(Module.wrap(source.replace(/^#!.*/, '')), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  codeCacheState = cachedData ? (compiledScript.cachedDataRejected ? 'rejected' : 'used') : 'none';
  const module = new Module(file, null);
  module.filename = file;
  module.paths = Module._nodeModulePaths(path.dirname(file));
  Module._cache[file] = module;
  try {
    compiledScript.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, path.dirname(file));
  } catch (err) {
    delete Module._cache[file];
    throw err;
  }
  module.loaded = true;
  return module.exports;
}

/**
 * After the first invocation: the code cache then holds the functions INIT and the handler compiled. Sent once, before
 * the answer, so an environment the runner starts once the answer is in already gets it (a few ms, once per function).
 */
function offerCodeCache() {
  if (!config.wantCodeCache || !compiledScript || codeCacheState === 'used') return;
  const script = compiledScript;
  compiledScript = undefined;
  try {
    parentPort.postMessage({ type: 'code-cache', data: script.createCachedData() });
  } catch {
    // No cache: the next environment compiles from source, as this one did.
  }
}

async function loadModule(taskRoot, moduleRoot, moduleName) {
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  try {
    for (const ext of ['', '.js', '.mjs', '.cjs']) {
      const file = base + ext;
      if (!fs.existsSync(file) || !fs.statSync(file).isFile()) continue;
      if (isCommonJS(file)) return requireWithCodeCache(file);
      return await import(pathToFileURL(file).href);
    }
    const resolved = require.resolve(moduleName, { paths: [taskRoot, path.join(taskRoot, moduleRoot)] });
    return require(resolved);
  } catch (err) {
    if (err instanceof SyntaxError) throw namedError('Runtime.UserCodeSyntaxError', String(err), err.stack);
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) throw namedError('Runtime.ImportModuleError', String(err));
    throw err;
  }
}

function findIn(handlerName, module) {
  return handlerName.split('.').reduce((nested, key) => (nested && (typeof nested === 'object' || typeof nested === 'function') ? nested[key] : undefined), module);
}

async function loadHandler() {
  const { moduleRoot, moduleName, handlerName } = parseHandler(config.handler);
  const module = await loadModule(config.taskRoot, moduleRoot, moduleName);
  let handler = findIn(handlerName, module);
  if (!handler && module && typeof module === 'object' && 'default' in module) handler = findIn(handlerName, module.default);
  if (!handler) throw namedError('Runtime.HandlerNotFound', `${config.handler} is undefined or not exported`);
  if (typeof handler !== 'function') throw namedError('Runtime.HandlerNotFound', `${config.handler} is not a function`);
  // nodejs24.x and later refuse callback-style handlers (three declared parameters) at INIT.
  if (config.runtimeMajor >= 24 && handler.length >= 3) {
    throw namedError(
      'Runtime.CallbackHandlerDeprecated',
      'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.',
    );
  }
  return handler;
}

// ---- INVOKE ----
function buildContext(message, settle) {
  const deadline = message.deadlineMs;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: message.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  if (config.runtimeMajor < 24) {
    // Legacy completion methods of the older runtimes.
    context.done = (err, result) => callbackSettle(settle, err, result);
    context.succeed = (result) => settle({ result });
    context.fail = (err) => settle({ error: err === undefined || err === null ? 'handled' : err });
  }
  return context;
}

/** callback(err, result): any error other than null / undefined fails the invocation. */
function callbackSettle(settle, err, result) {
  if (err !== undefined && err !== null) settle({ error: err });
  else settle({ result });
}

/** outcome: { error } (any thrown value, even undefined) or { result }. */
function respond(requestId, outcome) {
  currentRequestId = requestId;
  // A fault due after more calls than the invocation made strikes at its end: the work is done, the answer is lost.
  if (dieAfterAwsCalls !== undefined) die();
  const { result } = outcome;
  if ('error' in outcome) {
    const { error } = outcome;
    logInvokeError('Invoke Error', error);
    offerCodeCache();
    parentPort.postMessage({ type: 'error', requestId, error: formatError(error), heapUsedMB: heapUsedMB() });
    return;
  }
  let payload;
  try {
    payload = JSON.stringify(result === undefined ? null : result);
    if (payload === undefined) payload = 'null'; // e.g. a function returned
  } catch (err) {
    const stringifyError = namedError('Runtime.JSONStringifyError', 'Unable to stringify response body');
    logInvokeError('Invoke Error', err);
    parentPort.postMessage({ type: 'error', requestId, error: formatError(stringifyError), heapUsedMB: heapUsedMB() });
    return;
  }
  if (Buffer.byteLength(payload) > config.maxResponseBytes) {
    const sizeError = namedError('Function.ResponseSizeTooLarge', `Response payload size exceeded maximum allowed payload size (${config.maxResponseBytes} bytes).`);
    parentPort.postMessage({ type: 'error', requestId, error: formatError(sizeError), heapUsedMB: heapUsedMB() });
    return;
  }
  offerCodeCache();
  parentPort.postMessage({ type: 'result', requestId, payload, heapUsedMB: heapUsedMB() });
}

function invoke(handler, message) {
  const { requestId } = message;
  currentRequestId = requestId;
  awsCalls = 0;
  dieAfterAwsCalls = message.dieAfterAwsCalls;
  if (dieAfterAwsCalls === 0) return die();
  let settled = false;
  const settle = (outcome) => {
    if (settled) return;
    settled = true;
    // Answer on a later turn, as the runtime does, so logging done right before the return is flushed first.
    setImmediate(() => respond(requestId, outcome));
  };
  let event;
  try {
    event = JSON.parse(message.event);
  } catch (error) {
    settle({ error });
    return;
  }
  const context = buildContext(message, settle);
  const legacyCallback = config.runtimeMajor < 24;
  try {
    const returned = legacyCallback ? handler(event, context, (err, result) => callbackSettle(settle, err, result)) : handler(event, context);
    if (returned && typeof returned.then === 'function') {
      returned.then(
        (result) => settle({ result }),
        (error) => settle({ error }),
      );
    } else if (!legacyCallback || handler.length < 3) {
      settle({ result: returned });
    }
    // else: a callback-style handler answers through its callback (or context.done / succeed / fail).
  } catch (error) {
    settle({ error });
  }
}

(async () => {
  let handler;
  try {
    if (/(^|\s)--enable-source-maps(\s|$)/.test(process.env.NODE_OPTIONS || '') && typeof process.setSourceMapsEnabled === 'function') {
      process.setSourceMapsEnabled(true);
    }
    handler = await loadHandler();
  } catch (err) {
    logInvokeError('Init Error', err);
    parentPort.postMessage({ type: 'init-error', error: formatError(err) });
    process.exit(1);
    return;
  }
  parentPort.on('message', (message) => {
    if (message && message.type === 'invoke') invoke(handler, message);
  });
  parentPort.postMessage({ type: 'ready', initDurationMs: performance.now() - initStart, codeCache: codeCacheState });
})();
