'use strict';
// The benchmark's SMTP sink: a real SMTP server (the npm package smtp-server, as the tests' fixture
// tests/ReferralBroker.Tests/Mail/smtp-server.js) on 127.0.0.1 without TLS or AUTH (the broker allows Security None
// to loopback only). For each message it keeps only what the end to end needs: when the message's DATA ended
// (milliseconds since the epoch) and the referral id of the link it holds (`/partner/ref_…#secret`). The message
// itself, the link secret with it, is dropped as soon as the id is read; nothing of it is written anywhere.
//
//   node bench/smtp-sink.js PORT ARRIVALS_FILE
//
// Prints one JSON line { smtpPort } once listening on 127.0.0.1:PORT; appends `referralId<TAB>arrivalMs` per message to ARRIVALS_FILE
// (flushed at least every 100 ms). Ends on SIGTERM or SIGINT, flushing first, and prints its counts on stderr.

const fs = require('fs');
const { SMTPServer } = require('smtp-server');
const { SMTPConnection } = require('smtp-server/lib/smtp-connection');

// smtp-server holds every new session 100 ms before its greeting, to catch clients that talk too soon (a spam
// defence for the open internet, like Postfix's postscreen on port 25). A relay on the broker's own machine, which is
// what Security None allows, greets at once (Postfix's smtpd does), and a fixed 100 ms per connection would measure
// the sink, not the broker: the sink greets at once. Everything else is smtp-server's own protocol handling.
SMTPConnection.prototype.init = function init() {
    this._setListeners(() => this.connectionReady());
};

const port = Number(process.argv[2]);
const file = process.argv[3];
if (!port || !file) {
    process.stderr.write('usage: node bench/smtp-sink.js PORT ARRIVALS_FILE\n');
    process.exit(2);
}
const out = fs.openSync(file, 'a');
let pending = [];
let messages = 0;
let withoutId = 0;
function flush() {
    if (pending.length > 0) {
        fs.writeSync(out, pending.join(''));
        pending = [];
    }
}
setInterval(flush, 100).unref();

// Quoted-printable soft line breaks may split the link; the id is hex after "ref_" and survives QP otherwise.
const idPattern = /\/partner\/(ref_[0-9a-f]{24})/;

const server = new SMTPServer({
    secure: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, callback) {
        const chunks = [];
        stream.on('data', chunk => chunks.push(chunk));
        stream.on('end', () => {
            const arrived = Date.now();
            const text = Buffer.concat(chunks).toString('latin1').replace(/=\r?\n/g, '');
            const match = idPattern.exec(text);
            messages++;
            if (match) {
                pending.push(`${match[1]}\t${arrived}\n`);
            } else {
                withoutId++;
            }
            callback(null, 'Queued');
        });
    },
});
server.on('error', () => { /* a client hanging up mid-session is the broker's retry to handle */ });
server.listen(port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ smtpPort: server.server.address().port }) + '\n');
});

function stop() {
    flush();
    fs.closeSync(out);
    process.stderr.write(JSON.stringify({ messages, withoutId }) + '\n');
    process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
