'use strict';
// A real SMTP server (the npm package smtp-server, the one Nodemailer's own tests use) for the broker's SMTP mail
// sender. Nothing here imitates the protocol: smtp-server speaks it, with STARTTLS or implicit TLS on the test's
// certificate and AUTH PLAIN/LOGIN. This script only records what arrived and answers as a test scripts it:
//   - every accepted message: envelope, the authenticated user, whether the session was TLS, and the raw message;
//   - `failNext`: the next N messages are answered with a 4xx (451) after DATA, as a relay that is busy;
//   - `refuse`: recipients answered with a 5xx (550) at RCPT TO, as a relay that knows the address is dead;
//   - `rcptReply`: every recipient answered at RCPT TO with exactly this { code, text } (the text carries its own
//     enhanced status code, "5.7.1 Relay access denied", as Postfix or Exchange write it); `null` lifts it;
//   - `refuseSenders`: senders answered with a 5xx (553) at MAIL FROM, as a relay that does not let this login use that From;
//   - `dropConnections`: "421" or "silent": every open connection is closed now, with a 421 first or without a word,
//     as a relay does to a connection idle too long (the record counts the connections the server accepted).
//
// Configuration: one JSON line on stdin, { mode: "starttls" | "tls" | "plain", key, cert (PEM), users: { name:
// password } }. Control channel: HTTP on 127.0.0.1 (JSON): GET /record, POST /script. Prints one JSON line with
// both ports. Exits when its stdin closes, so a test process that dies takes it along.

const http = require('http');
const readline = require('readline');
const { SMTPServer } = require('smtp-server');

const received = [];
const attempts = { connections: 0, authFailures: 0, temporaryFailures: 0, refusedRecipients: 0, refusedSenders: 0 };
const script = { failNext: 0, refuse: new Set(), refuseSenders: new Set(), rcptReply: null };

function smtpError(code, text) {
    const error = new Error(text);
    error.responseCode = code;
    return error;
}

function start(config) {
    const users = config.users || {};
    const withAuth = Object.keys(users).length > 0;
    const disabled = [];
    if (!withAuth) disabled.push('AUTH');
    if (config.mode === 'plain') disabled.push('STARTTLS');
    const server = new SMTPServer({
        secure: config.mode === 'tls',
        key: config.key,
        cert: config.cert,
        disabledCommands: disabled,
        authOptional: !withAuth,
        disableReverseLookup: true,
        logger: false,
        onConnect(session, callback) {
            attempts.connections++;
            return callback();
        },
        onAuth(auth, session, callback) {
            if (Object.prototype.hasOwnProperty.call(users, auth.username) && users[auth.username] === auth.password) {
                return callback(null, { user: auth.username });
            }
            attempts.authFailures++;
            return callback(smtpError(535, 'Authentication credentials invalid'));
        },
        onMailFrom(address, session, callback) {
            if (script.refuseSenders.has(address.address.toLowerCase())) {
                attempts.refusedSenders++;
                return callback(smtpError(553, 'Sender address rejected: not owned by user'));
            }
            return callback();
        },
        onRcptTo(address, session, callback) {
            if (script.rcptReply) {
                attempts.refusedRecipients++;
                // smtp-server adds no enhanced code of its own (hideENHANCEDSTATUSCODES is its default): the reply
                // line is exactly "<code> <text>".
                return callback(smtpError(script.rcptReply.code, script.rcptReply.text));
            }
            if (script.refuse.has(address.address.toLowerCase())) {
                attempts.refusedRecipients++;
                return callback(smtpError(550, 'No such user here'));
            }
            return callback();
        },
        onData(stream, session, callback) {
            const chunks = [];
            stream.on('data', chunk => chunks.push(chunk));
            stream.on('end', () => {
                if (script.failNext > 0) {
                    script.failNext--;
                    attempts.temporaryFailures++;
                    return callback(smtpError(451, 'Try again later'));
                }
                received.push({
                    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
                    to: session.envelope.rcptTo.map(r => r.address),
                    user: session.user || null,
                    secure: session.secure === true,
                    raw: Buffer.concat(chunks).toString('base64'),
                });
                return callback(null, 'Queued');
            });
        },
    });
    server.on('error', () => { /* a client that hangs up mid-session is the test's business, not a crash */ });

    const control = http.createServer((req, res) => {
        const reply = (status, body) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
        };
        if (req.method === 'GET' && req.url === '/record') {
            return reply(200, Object.assign({ received }, attempts));
        }
        if (req.method === 'POST' && req.url === '/script') {
            let body = '';
            req.on('data', chunk => { body += chunk; });
            req.on('end', () => {
                const asked = JSON.parse(body || '{}');
                if (typeof asked.failNext === 'number') script.failNext = asked.failNext;
                if (Array.isArray(asked.refuse)) script.refuse = new Set(asked.refuse.map(a => a.toLowerCase()));
                if (asked.rcptReply !== undefined) script.rcptReply = asked.rcptReply;
                if (Array.isArray(asked.refuseSenders)) script.refuseSenders = new Set(asked.refuseSenders.map(a => a.toLowerCase()));
                if (asked.dropConnections === '421' || asked.dropConnections === 'silent') {
                    for (const connection of [...server.connections]) {
                        if (asked.dropConnections === '421') connection.send(421, 'Idle too long, closing connection');
                        connection.close();
                    }
                }
                reply(200, {});
            });
            return undefined;
        }
        return reply(404, {});
    });

    server.listen(0, '127.0.0.1', () => {
        control.listen(0, '127.0.0.1', () => {
            process.stdout.write(JSON.stringify({ smtpPort: server.server.address().port, controlPort: control.address().port }) + '\n');
        });
    });
}

const lines = readline.createInterface({ input: process.stdin });
let started = false;
lines.on('line', line => {
    if (!started) {
        started = true;
        start(JSON.parse(line));
    }
});
lines.on('close', () => process.exit(0));
