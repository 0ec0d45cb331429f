// Parses Prometheus text exposition from stdin with parse-prometheus-text-format (npm) and prints
// the parsed families as JSON; exits 1 (with the parser's message) when the text does not parse.
//
//   curl -s http://127.0.0.1:PORT/metrics | PEERS_EXAMPLE=<peers>/peers-example node prom-parse.mjs
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.env.PEERS_EXAMPLE ?? '.', 'package.json'));
const parse = require('parse-prometheus-text-format');
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { text += c; });
process.stdin.on('end', () => {
  try {
    const families = parse(text);
    if (!Array.isArray(families) || families.length === 0) throw new Error('no metric families');
    console.log(JSON.stringify(families));
  } catch (e) {
    console.error(`prom-parse.mjs: the text does not parse: ${e.message}`);
    process.exit(1);
  }
});
