"use strict";
// A small Connect app on atlassian-connect-express (ACE), served over TLS on 127.0.0.1 for
// connectguard's integration test (tests/integration/test_ace.py).
//
// Inputs, all from the environment the test sets:
//   CG_TLS_CERT, CG_TLS_KEY   PEM files of the server certificate and its key
//   CONNECT_KEYS_CDN_URL      ACE's own setting: where it fetches signed-install public keys
//   NODE_ENV=production       ACE's production mode: no descriptor watch, no registration
// The app listens on a free port it picks itself, sets ACE's AC_LOCAL_BASE_URL from it (so
// the descriptor's baseUrl is the address it serves), and prints one line once ACE has set
// up its routes: "connectguard-ace-app ready <baseUrl>". Every answer is logged as
// "connectguard-ace-app answered <METHOD> <path> <status>" so the test sees what ACE did.

const fs = require("fs");
const https = require("https");
const express = require("express");
const ace = require("atlassian-connect-express");
const memoryStore = require("./store");

const HOST = "127.0.0.1";
const OPEN_PAGE_KEY = "open-page";

ace.store.register("connectguard-memory", memoryStore);

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

function page(title, text) {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`
  );
}

// The descriptor without the deliberately open page: what the app would be if every page
// were behind ACE's authentication. The test scans both.
function protectedDescriptor(descriptor) {
  const copy = structuredClone(descriptor);
  copy.modules.generalPages = copy.modules.generalPages.filter(p => p.key !== OPEN_PAGE_KEY);
  return copy;
}

function accessLog(req, res, next) {
  const path = req.originalUrl.split("?")[0];
  res.on("finish", () => {
    console.log(`connectguard-ace-app answered ${req.method} ${path} ${res.statusCode}`);
  });
  next();
}

function routes(app, addon) {
  // A module page behind ACE's JWT check: signature (HS256 with the tenant's sharedSecret),
  // expiry and qsh.
  app.get("/hello", addon.authenticate(), (req, res) => {
    res.type("html").send(page("Hello", `Hello, tenant ${req.context.clientKey}`));
  });

  // Deliberately unprotected: a module page served to anyone. The scan must fail here.
  app.get("/open", (req, res) => {
    res.type("html").send(page("Open", "This page is served without authentication."));
  });

  // The app's own API, called by its iframes with context tokens (qsh "context-qsh"): ACE's
  // checkValidToken, which is authenticate() with the qsh check skipped.
  const listIssues = (req, res) => res.json({ tenant: req.context.clientKey, issues: [] });
  app.get("/api/issues", addon.checkValidToken(), listIssues);
  app.post("/api/issues", addon.checkValidToken(), listIssues);

  // ACE sets up /installed itself (signed install); an app adds /uninstalled with the same
  // asymmetric check.
  app.post("/uninstalled", addon.authenticateInstall(), async (req, res) => {
    await addon.settings.del("clientInfo", req.body.clientKey);
    res.status(204).end();
  });

  app.get("/atlassian-connect-protected.json", (req, res) => {
    res.json(protectedDescriptor(addon.descriptor));
  });
}

function start() {
  const app = express();
  const server = https.createServer(
    {
      cert: fs.readFileSync(process.env.CG_TLS_CERT),
      key: fs.readFileSync(process.env.CG_TLS_KEY)
    },
    app
  );
  server.listen(0, HOST, () => {
    const baseUrl = `https://${HOST}:${server.address().port}`;
    process.env.AC_LOCAL_BASE_URL = baseUrl;
    app.use(accessLog);
    app.use(express.json());
    app.use(express.urlencoded({ extended: false }));
    const addon = ace(app, {}, undefined, () => {
      console.log(`connectguard-ace-app ready ${baseUrl}`);
    });
    app.use(addon.middleware());
    routes(app, addon);
  });
}

start();
