// A webhook receiver that verifies every delivery with the official
// Standard Webhooks library (npm "standardwebhooks"), independently of
// riptide's signing code. Usage: node standardwebhooks-receiver.js SECRET...
// It listens on 127.0.0.1, prints "PORT <n>", and serves its log at GET /log.
// The first delivery of each job_completed event gets 503 + Retry-After: 1,
// so the retry (same webhook-id, new timestamp and signature) is checked too.
"use strict";
const http = require("http");
const { Webhook } = require("standardwebhooks");

const secrets = process.argv.slice(2);
const hooks = secrets.map((s) => new Webhook(s));
const log = [];
const seen = new Set();

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/log") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(log));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const entry = {
      id: req.headers["webhook-id"] || "",
      timestamp: req.headers["webhook-timestamp"] || "",
      signatures: (req.headers["webhook-signature"] || "").split(" ").filter(Boolean).length,
      verified: [],
      errors: [],
      type: "",
      answered: 200,
    };
    hooks.forEach((wh, i) => {
      try {
        const payload = wh.verify(body, req.headers);
        entry.verified.push(i);
        entry.type = payload.type;
      } catch (e) {
        entry.errors.push(`secret ${i}: ${e.message}`);
      }
    });
    if (entry.verified.length !== hooks.length) {
      entry.answered = 401;
    } else if (entry.type === "job_completed" && !seen.has(entry.id)) {
      seen.add(entry.id);
      entry.answered = 503;
    }
    log.push(entry);
    const headers = entry.answered === 503 ? { "retry-after": "1" } : {};
    res.writeHead(entry.answered, headers);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(`PORT ${server.address().port}`);
});
