// force-loopback.cjs: Node preload that keeps third-party test peers off the network.
//
//   node --require /abs/path/force-loopback.cjs tool.js
//   NODE_OPTIONS='--require "/abs/path/force-loopback.cjs"' tool
//
// Several peers (the conformance runner's per-scenario mock servers, server-everything, ...)
// call listen(port) / listen(0) with no host, or with a wildcard host, which binds every
// interface. This preload rewrites such net.Server#listen() calls (http/https servers
// included, they inherit it) to bind 127.0.0.1. Explicit non-wildcard hosts, pipes/unix
// sockets, fds and handles are left alone.
//
// Catch: Node treats any listen() with a host as "resolve the host first", and resolves
// through dns.lookup(), which answers on a later tick even for an IP literal. Callers
// that do `server.listen(0); const {port} = server.address();` would then read null.
// So while a rewritten listen() call runs, dns.lookup answers the literal 127.0.0.1
// synchronously; the bind then happens inside listen() as it does without a host, and
// server.address() is usable right after it returns. 'listening'/'error' events are
// still emitted asynchronously by Node, as usual.
//
// Set MCP_FORCE_LOOPBACK_DEBUG=1 to log each listener to stderr.
'use strict';

const net = require('node:net');
const dns = require('node:dns');

const LOOPBACK = '127.0.0.1';
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0']);
const DEBUG = !!process.env.MCP_FORCE_LOOPBACK_DEBUG;

if (!net.Server.prototype.listen.__forceLoopback) {
  const nativeListen = net.Server.prototype.listen;

  const isWildcard = (host) => host === undefined || host === null || WILDCARD_HOSTS.has(host);
  // Node's rule (lib/net.js isPipeName): a string that is not a non-negative number is a pipe path.
  const isPipeName = (v) => typeof v === 'string' && !(Number(v) >= 0);

  // Returns the rewritten argument list, or null when the call is not a TCP listen on all interfaces.
  function rewriteArgs(args) {
    const first = args[0];

    // listen(), listen(cb), listen(null|undefined, ...): any port, no host.
    if (args.length === 0 || typeof first === 'function') return [0, LOOPBACK, ...args];
    if (first === null || first === undefined) return rewriteArgs([0, ...args.slice(1)]);

    // listen(port[, host][, backlog][, cb])
    if (typeof first === 'number' || (typeof first === 'string' && !isPipeName(first))) {
      const out = args.slice();
      if (typeof out[1] === 'string') {
        if (!isWildcard(out[1])) return null;
        out[1] = LOOPBACK;
      } else if (out[1] === null || out[1] === undefined) {
        out[1] = LOOPBACK; // listen(port, undefined, backlog, cb)
      } else {
        out.splice(1, 0, LOOPBACK); // listen(port[, backlog][, cb])
      }
      return out;
    }

    // listen(options[, cb]). Options come as plain objects; anything else (a handle, a server,
    // a socket) is passed through untouched.
    const proto = typeof first === 'object' ? Object.getPrototypeOf(first) : undefined;
    if ((proto === Object.prototype || proto === null) && first.path === undefined &&
        first.fd === undefined && first.handle === undefined && isWildcard(first.host)) {
      return [{ ...first, host: LOOPBACK }, ...args.slice(1)];
    }
    return null;
  }

  // Runs fn() with dns.lookup answering LOOPBACK synchronously; everything else goes to the real lookup.
  function withInstantLoopbackLookup(fn) {
    const realLookup = dns.lookup;
    dns.lookup = function instantLoopbackLookup(hostname, options, callback) {
      if (hostname !== LOOPBACK) return realLookup.apply(this, arguments);
      if (typeof options === 'function') {
        callback = options;
        options = undefined;
      }
      if (options !== null && typeof options === 'object' && options.all) {
        callback(null, [{ address: LOOPBACK, family: 4 }]);
      } else {
        callback(null, LOOPBACK, 4);
      }
      return {};
    };
    try {
      return fn();
    } finally {
      dns.lookup = realLookup;
    }
  }

  function listen(...args) {
    const rewritten = rewriteArgs(args);
    if (DEBUG) {
      this.once('listening', () => {
        process.stderr.write(`[force-loopback] pid ${process.pid} listening on ${JSON.stringify(this.address())}` +
                             `${rewritten ? ' (rewritten)' : ''}\n`);
      });
    }
    if (!rewritten) return nativeListen.apply(this, args);
    return withInstantLoopbackLookup(() => nativeListen.apply(this, rewritten));
  }
  Object.defineProperty(listen, '__forceLoopback', { value: true });
  net.Server.prototype.listen = listen;
}
