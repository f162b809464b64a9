'use strict';
// A fake Azure Service Bus namespace speaking AMQP 1.0 (on rhea), for the tests of the Service Bus adapter, which
// uses the real Azure.Messaging.ServiceBus SDK. No Service Bus emulator can run here, so this implements the part
// of the protocol the broker uses, and records what it was sent so that tests can assert on the wire:
//   - SASL MSSBCBS, and a $cbs put-token answered with an AMQP int 202 on the request's reply_to link (the SDK
//     refuses a server without them); max_message_size on every attach (else the SDK refuses to send);
//   - one queue per entity path (case-insensitive); a topic fans out to its subscriptions by the `category`
//     application property, with one subscription taking every category no other one lists ("other");
//   - peek-lock deliveries with 16-byte delivery tags (the SDK's lock tokens): accepted = complete,
//     modified = abandon (delivery count + 1), rejected = dead-letter, released = put back as it was; a lock
//     that expires or whose link closes counts as a failed delivery; dead-lettering after maxDeliveryCount;
//   - `<entity>/$DeadLetterQueue` sub-queues; duplicate detection by message id per topic (no time window).
// Not implemented: $management (renew lock, peek, schedule, defer), sessions, transactions, expiry by TTL.
//
// Control channel: HTTP on 127.0.0.1 (JSON). GET /record, GET /entity?path=, POST /reset, POST /clock, POST /faults,
// POST /inject. Started by the C# fixture with `node fake-servicebus.js`; prints one JSON line with both ports.
// Exits when its stdin closes, so a test process that dies takes it along.

const http = require('http');
const crypto = require('crypto');
const rhea = require('rhea');

const MAX_MESSAGE_SIZE = 256 * 1024;
const defaults = () => ({
    topics: { referrals: { health: ['health'], legal: ['legal'], employment: ['employment'], other: '*' } },
    maxDeliveryCount: 10,
    lockDurationMs: 60000,
});

let config;
let entities;       // lower-case path -> { path, available: [entry], locked: Map(tokenHex -> lock) }
let duplicates;     // lower-case topic -> Set(messageId)
let received;       // what clients sent, in order
let injected;
let operations;     // what the broker's clients asked of the namespace, by kind: the billable operations and the links
let faults;
let clock;          // null: real time; else a fixed epoch-ms that tests set
let sequence;
let random;
const links = new Set(); // the broker's sending links (deliveries to clients)

function reset(body) {
    config = Object.assign(defaults(), body || {});
    entities = new Map();
    duplicates = new Map();
    received = [];
    injected = { send: 0, sendAfterStore: 0, complete: 0 };
    operations = {
        send: 0, receive: 0, drain: 0, delivered: 0, complete: 0, abandon: 0, deadLetter: 0, release: 0,
        senderLinks: 0, receiverLinks: 0, cbsTokens: 0,
    };
    faults = { next: { send: 0, sendAfterStore: 0, complete: 0 }, rates: { send: 0, sendAfterStore: 0, complete: 0 } };
    random = seeded(1);
    clock = null;
    sequence = 0;
    for (const lock of allLocks()) clearTimeout(lock.timer);
}

function now() { return clock === null ? Date.now() : clock; }

// mulberry32: the fault run is repeatable for a seed.
function seeded(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function shouldFail(kind) {
    if (faults.next[kind] > 0) { faults.next[kind]--; injected[kind]++; return true; }
    if (faults.rates[kind] > 0 && random() < faults.rates[kind]) { injected[kind]++; return true; }
    return false;
}

function entity(path) {
    const key = path.toLowerCase();
    if (!entities.has(key)) entities.set(key, { path, available: [], locked: new Map() });
    return entities.get(key);
}

function* allLocks() {
    if (!entities) return;
    for (const e of entities.values()) yield* e.locked.values();
}

// The SDK names entities by address path ("/referrals", or a full amqps:// URI): the entity is the path without its slash.
function entityPathOf(address) {
    if (typeof address !== 'string') return null;
    const path = /^[a-z]+:\/\//i.test(address) ? new URL(address).pathname : address;
    return decodeURIComponent(path).replace(/^\/+/, '');
}

function subscriptionPath(topic, sub) { return `${topic}/Subscriptions/${sub}`; }

// The subscriptions a message reaches: those listing its category, or the catch-all ('*') when none does.
function fanOut(topicPath, category) {
    const topic = Object.entries(config.topics).find(([name]) => name.toLowerCase() === topicPath.toLowerCase());
    if (!topic) return [topicPath]; // a queue
    const [name, subs] = topic;
    const explicit = Object.entries(subs).filter(([, cats]) => Array.isArray(cats) && cats.includes(category)).map(([s]) => s);
    const targets = explicit.length > 0 ? explicit : Object.entries(subs).filter(([, cats]) => cats === '*').map(([s]) => s);
    return targets.map(s => subscriptionPath(name, s));
}

function bodyBytes(message) {
    const body = message.body;
    if (Buffer.isBuffer(body)) return body;
    if (body && Buffer.isBuffer(body.content)) return body.content;
    if (body && Array.isArray(body.content)) return Buffer.concat(body.content.filter(Buffer.isBuffer));
    if (typeof body === 'string') return Buffer.from(body, 'utf8');
    return Buffer.alloc(0);
}

function enqueue(path, entry) {
    const e = entity(path);
    insertInOrder(e.available, entry);
    pump();
}

function insertInOrder(list, entry) {
    let i = list.length;
    while (i > 0 && list[i - 1].seq > entry.seq) i--;
    list.splice(i, 0, entry);
}

function newEntry(fields) {
    return Object.assign({
        seq: ++sequence, enqueuedAt: now(), failures: 0, applicationProperties: {}, ttl: undefined,
        contentType: undefined, messageId: undefined, body: Buffer.alloc(0),
    }, fields);
}

function deadLetter(path, entry, reason) {
    const props = Object.assign({}, entry.applicationProperties, { DeadLetterReason: reason });
    // Service Bus keeps the original enqueue time and message id on a dead letter.
    enqueue(`${path}/$DeadLetterQueue`, Object.assign({}, entry, { seq: ++sequence, applicationProperties: props }));
}

// A delivery that failed (abandoned, lock expired, link gone): count it, dead-letter it after the max.
function failDelivery(lock) {
    const e = lock.entity;
    e.locked.delete(lock.key);
    clearTimeout(lock.timer);
    lock.entry.failures++;
    if (lock.entry.failures >= config.maxDeliveryCount && !e.path.toLowerCase().endsWith('/$deadletterqueue')) {
        deadLetter(e.path, lock.entry, 'MaxDeliveryCountExceeded');
    } else {
        insertInOrder(e.available, lock.entry);
    }
    pump();
}

function pump() {
    for (const link of links) {
        if (!link.is_open() || !link.entityPath) continue;
        const e = entity(link.entityPath);
        while (link.sendable() && e.available.length > 0) {
            const entry = e.available.shift();
            const token = crypto.randomBytes(16);
            const lock = { key: token.toString('hex'), token, entry, entity: e, link };
            lock.timer = setTimeout(() => { if (e.locked.get(lock.key) === lock) failDelivery(lock); }, config.lockDurationMs);
            e.locked.set(lock.key, lock);
            const annotations = {
                'x-opt-enqueued-time': new Date(entry.enqueuedAt),
                'x-opt-sequence-number': rhea.types.wrap_long(entry.seq),
                'x-opt-locked-until': new Date(now() + config.lockDurationMs),
            };
            const message = {
                message_id: entry.messageId,
                content_type: entry.contentType,
                delivery_count: entry.failures,
                application_properties: entry.applicationProperties,
                message_annotations: annotations,
                body: rhea.message.data_section(entry.body),
            };
            if (entry.ttl !== undefined) message.ttl = entry.ttl;
            const delivery = link.send(message, token);
            delivery.lock = lock;
            operations.delivered++;
        }
    }
}

function settle(delivery, state) { delivery.update(true, state); }

const settlementKinds = { accepted: 'complete', modified: 'abandon', rejected: 'deadLetter', released: 'release' };

function onDisposition(context, kind) {
    const delivery = context.delivery;
    const lock = delivery.lock;
    if (!lock) return;
    operations[settlementKinds[kind]]++;
    if (lock.entity.locked.get(lock.key) !== lock) {
        settle(delivery, rhea.message.rejected({ error: { condition: 'com.microsoft:message-lock-lost', description: 'The lock has expired.' } }).described());
        return;
    }

    if (kind === 'accepted') {
        if (shouldFail('complete')) {
            // The lock is lost before the completion arrives: the message comes back, one delivery more.
            failDelivery(lock);
            settle(delivery, rhea.message.rejected({ error: { condition: 'com.microsoft:message-lock-lost', description: 'Injected: lock lost.' } }).described());
            return;
        }
        lock.entity.locked.delete(lock.key);
        clearTimeout(lock.timer);
        settle(delivery, rhea.message.accepted().described());
    } else if (kind === 'modified') {
        failDelivery(lock);
        settle(delivery, rhea.message.modified({ delivery_failed: true }).described());
    } else if (kind === 'rejected') {
        lock.entity.locked.delete(lock.key);
        clearTimeout(lock.timer);
        const info = (delivery.remote_state && delivery.remote_state.error && delivery.remote_state.error.info) || {};
        deadLetter(lock.entity.path, lock.entry, info.DeadLetterReason || 'Rejected');
        settle(delivery, rhea.message.rejected().described());
    } else if (kind === 'released') {
        lock.entity.locked.delete(lock.key);
        clearTimeout(lock.timer);
        insertInOrder(lock.entity.available, lock.entry);
        settle(delivery, rhea.message.released().described());
        pump();
    }
    pump();
}

function releaseLinkLocks(link) {
    links.delete(link);
    for (const lock of [...allLocks()]) {
        if (lock.link === link) failDelivery(lock);
    }
}

function onCbs(context) {
    const request = context.message;
    const replyTo = request.reply_to;
    const connection = context.connection;
    let reply;
    for (const link of links) {
        if (link.connection === connection && link.remote.attach && link.remote.attach.target && link.remote.attach.target.address === replyTo) reply = link;
    }
    context.delivery.accept();
    operations.cbsTokens++;
    if (!reply) return;
    reply.send({
        correlation_id: request.message_id,
        application_properties: { 'status-code': rhea.types.wrap_int(202), 'status-description': 'Accepted' },
        body: null,
    });
}

function onSend(context) {
    operations.send++;
    const link = context.receiver;
    const message = context.message;
    const topicPath = link.entityPath;
    const body = bodyBytes(message);
    const applicationProperties = Object.assign({}, message.application_properties || {});
    const record = {
        entity: topicPath,
        messageId: message.message_id === undefined ? null : String(message.message_id),
        applicationProperties,
        ttl: message.ttl === undefined ? null : Number(message.ttl),
        contentType: message.content_type === undefined ? null : message.content_type,
        body: body.toString('base64'),
        duplicate: false,
        outcome: 'accepted',
    };

    if (shouldFail('send')) {
        record.outcome = 'failed';
        received.push(record);
        context.delivery.reject({ condition: 'amqp:internal-error', description: 'Injected: the send failed.' });
        return;
    }

    const key = topicPath.toLowerCase();
    if (!duplicates.has(key)) duplicates.set(key, new Set());
    const seen = duplicates.get(key);
    if (record.messageId !== null && seen.has(record.messageId)) {
        record.duplicate = true;
    } else {
        if (record.messageId !== null) seen.add(record.messageId);
        const category = applicationProperties.category;
        for (const path of fanOut(topicPath, category)) {
            enqueue(path, newEntry({
                messageId: record.messageId, applicationProperties, ttl: record.ttl === null ? undefined : record.ttl,
                contentType: record.contentType === null ? undefined : record.contentType, body,
            }));
        }
    }

    if (shouldFail('sendAfterStore')) {
        // Stored, but the answer is lost on the way back: the client sees a failure and may send again.
        record.outcome = 'stored-but-failed';
        received.push(record);
        context.delivery.reject({ condition: 'amqp:internal-error', description: 'Injected: the answer was lost.' });
        return;
    }

    received.push(record);
    context.delivery.accept();
}

reset();

const container = rhea.create_container({ id: 'fake-servicebus' });
container.sasl_server_mechanisms.MSSBCBS = () => ({
    outcome: undefined,
    start() { this.outcome = true; this.username = 'cbs'; },
});

const linkOptions = { max_message_size: MAX_MESSAGE_SIZE, autoaccept: false, autosettle: false, treat_modified_as_released: false };
// The broker's side of an attach mirrors the client's terminus and always states max_message_size (the SDK
// refuses to send over a link without it).
function answerAttach(link, entityAddress) {
    link.local.attach.max_message_size = MAX_MESSAGE_SIZE;
    link.set_source(link.remote.attach.source || {});
    link.set_target(link.remote.attach.target || {});
    const path = entityPathOf(entityAddress);
    link.entityPath = path;
    return path;
}
container.on('receiver_open', context => {
    if (answerAttach(context.receiver, (context.receiver.remote.attach.target || {}).address) !== '$cbs') operations.senderLinks++;
});
container.on('sender_open', context => {
    const link = context.sender;
    if (answerAttach(link, (link.remote.attach.source || {}).address) === '$cbs') link.entityPath = null;
    else operations.receiverLinks++;
    links.add(link);
    pump();
});
// A client receiver asks for messages with link credit: each flow that grants credit is one receive call of the
// SDK (PrefetchCount 0), and a flow with drain set is the SDK taking back the credit of a receive that timed out.
container.on('sender_flow', context => {
    const link = context.sender;
    if (!link.entityPath) return;
    if (link._draining) operations.drain++;
    else if (link.credit > 0) operations.receive++;
});
container.on('message', context => {
    if (context.receiver.entityPath === '$cbs') onCbs(context);
    else if (context.receiver.entityPath) onSend(context);
});
container.on('sendable', () => pump());
container.on('sender_draining', context => { pump(); context.sender.set_drained(true); });
for (const kind of ['accepted', 'modified', 'rejected', 'released']) container.on(kind, context => onDisposition(context, kind));
container.on('sender_close', context => releaseLinkLocks(context.sender));
container.on('sender_error', context => releaseLinkLocks(context.sender));
container.on('disconnected', context => {
    for (const link of [...links]) if (link.connection === context.connection) releaseLinkLocks(link);
});
container.on('connection_close', context => {
    for (const link of [...links]) if (link.connection === context.connection) releaseLinkLocks(link);
});
container.on('error', () => { /* a client that vanished mid-frame; its locks go with 'disconnected' */ });

function describe(entry) {
    return {
        messageId: entry.messageId === undefined ? null : entry.messageId,
        sequenceNumber: entry.seq,
        deliveryCount: entry.failures,
        enqueuedAt: new Date(entry.enqueuedAt).toISOString(),
        applicationProperties: entry.applicationProperties,
        body: entry.body.toString('base64'),
    };
}

function readJson(request) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        request.on('data', c => chunks.push(c));
        request.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try { resolve(text ? JSON.parse(text) : {}); } catch (e) { reject(e); }
        });
    });
}

const control = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    let status = 200;
    let result = {};
    try {
        const body = request.method === 'POST' ? await readJson(request) : {};
        switch (`${request.method} ${url.pathname}`) {
            case 'GET /record':
                result = { received, injected, operations };
                break;
            case 'GET /entity': {
                const e = entities.get((url.searchParams.get('path') || '').toLowerCase());
                result = {
                    available: e ? e.available.map(describe) : [],
                    locked: e ? [...e.locked.values()].map(l => describe(l.entry)) : [],
                };
                break;
            }
            case 'POST /reset':
                reset(body);
                break;
            case 'POST /clock':
                clock = body.now ? Date.parse(body.now) : null;
                break;
            case 'POST /faults':
                faults.next = Object.assign(faults.next, body.next || {});
                faults.rates = Object.assign(faults.rates, body.rates || {});
                if (body.seed !== undefined) random = seeded(body.seed);
                break;
            case 'POST /inject':
                enqueue(body.path, newEntry({
                    messageId: body.messageId, applicationProperties: body.applicationProperties || {},
                    body: Buffer.from(body.body || '', 'base64'), contentType: body.contentType,
                    enqueuedAt: body.enqueuedAt ? Date.parse(body.enqueuedAt) : now(),
                    failures: body.deliveryCount || 0,
                }));
                break;
            default:
                status = 404;
        }
    } catch (e) {
        status = 400;
        result = { error: e.message };
    }
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(result));
});

const amqp = container.listen({ port: 0, host: '127.0.0.1', sender_options: linkOptions, receiver_options: linkOptions });
amqp.on('listening', () => {
    control.listen(0, '127.0.0.1', () => {
        process.stdout.write(JSON.stringify({ amqpPort: amqp.address().port, controlPort: control.address().port }) + '\n');
    });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
