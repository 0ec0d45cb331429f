// SMTP test peer for idp-mcp-server's outbox: smtp-server (npm) on 127.0.0.1, port 0. It refuses
// the first SMTP_REFUSE_FIRST connections (default 1) with "421 try again later", accepts the
// rest, and prints one JSON line per event on stdout: listening (with the port), refused,
// message (envelope, subject, size). Node built-ins and the peers-example project only.
//
//   PEERS_EXAMPLE=<peers>/peers-example node smtp-peer.mjs
import path from 'node:path';
import { createRequire } from 'node:module';

const dir = process.env.PEERS_EXAMPLE;
if (!dir) {
  console.error('smtp-peer.mjs: set PEERS_EXAMPLE to <peers>/peers-example');
  process.exit(2);
}
const require = createRequire(path.join(dir, 'package.json'));
const { SMTPServer } = require('smtp-server');

const emit = (o) => console.log(JSON.stringify(o));
const refuse = Number(process.env.SMTP_REFUSE_FIRST ?? 1);
let connections = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onConnect(session, callback) {
    connections += 1;
    if (connections <= refuse) {
      emit({ event: 'refused', connection: connections });
      const e = new Error('try again later');
      e.responseCode = 421;
      return callback(e);
    }
    return callback();
  },
  onData(stream, session, callback) {
    let data = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => { data += chunk; });
    stream.on('end', () => {
      const subject = (data.match(/^Subject: (.*)$/m) || [])[1] ?? null;
      emit({
        event: 'message',
        connection: connections,
        from: session.envelope.mailFrom.address,
        to: session.envelope.rcptTo.map((r) => r.address),
        subject: subject && subject.replace(/\r$/, ''),
        has_code: /with the code \S+/.test(data),
        bytes: data.length,
      });
      callback();
    });
  },
});
server.on('error', (e) => emit({ event: 'error', message: String(e.message) }));
server.listen(0, '127.0.0.1', () => emit({ event: 'listening', port: server.server.address().port }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
