'use strict';
// An organisation's webhook receiver that verifies every delivery with the Standard Webhooks reference library for
// JavaScript (the npm package standardwebhooks): `new Webhook(secret).verify(body, headers)`, nothing hand-written.
// One endpoint, several "holders": each is a receiver holding one secret, and each delivery is verified by every
// holder, so one delivery shows whether a receiver holding only the old secret and one holding only the new one
// would both accept it (a rotation's overlap). It answers 204 when any holder verified, else 400 (a refused
// signature is the sender's problem: a 4xx, never a 500), or 500 for the next `failNext` verified deliveries.
//
// The library checks the timestamp against Date.now(); the broker under test runs on a fake clock, so `clock` (Unix
// milliseconds) sets this process's Date.now to that time (it then runs on from there).
//
// Control channel: HTTP on 127.0.0.1 (JSON): GET /record, POST /script { holders: { name: secret }, failNext, clock }.
// Prints one JSON line with both ports. Exits when its stdin closes, so a test process that dies takes it along.

const http = require('http');
const { Webhook } = require('standardwebhooks');

const realNow = Date.now;
let offset = 0;
Date.now = () => realNow() + offset;

const deliveries = [];
const script = { holders: {}, failNext: 0 };

function readBody(req, callback) {
    const chunks = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => callback(Buffer.concat(chunks)));
}

const hook = http.createServer((req, res) => {
    readBody(req, raw => {
        const body = raw.toString('utf8');
        const verdicts = {};
        for (const [name, secret] of Object.entries(script.holders)) {
            try {
                new Webhook(secret).verify(body, req.headers);
                verdicts[name] = 'verified';
            } catch (e) {
                verdicts[name] = e.name === 'WebhookVerificationError' ? 'refused: ' + e.message : 'error: ' + e.message;
            }
        }
        const verified = Object.values(verdicts).includes('verified');
        let status = verified ? 204 : 400;
        if (verified && script.failNext > 0) {
            script.failNext--;
            status = 500;
        }
        deliveries.push({
            path: req.url,
            headers: {
                'webhook-id': req.headers['webhook-id'] || null,
                'webhook-timestamp': req.headers['webhook-timestamp'] || null,
                'webhook-signature': req.headers['webhook-signature'] || null,
            },
            otherHeaders: Object.keys(req.headers).filter(h => h.toLowerCase().startsWith('referralbroker-')),
            body,
            verdicts,
            status,
            receivedAt: Date.now(),
        });
        res.writeHead(status);
        res.end();
    });
});

const control = http.createServer((req, res) => {
    const reply = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/record') {
        return reply(200, { deliveries });
    }
    if (req.method === 'POST' && req.url === '/script') {
        return readBody(req, raw => {
            const asked = JSON.parse(raw.toString('utf8') || '{}');
            if (asked.holders) script.holders = asked.holders;
            if (typeof asked.failNext === 'number') script.failNext = asked.failNext;
            if (typeof asked.clock === 'number') offset = asked.clock - realNow();
            reply(200, {});
        });
    }
    return reply(404, {});
});

hook.listen(0, '127.0.0.1', () => {
    control.listen(0, '127.0.0.1', () => {
        process.stdout.write(JSON.stringify({ hookPort: hook.address().port, controlPort: control.address().port }) + '\n');
    });
});

process.stdin.on('data', () => {});
process.stdin.on('close', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
