'use strict';
// The bank's HTTP routes (Express) over a Bank: JSON in, the bank's Reply out.
//
//   POST /accounts             {"id", "balance"}  -> 201 / 400 / 409
//   GET  /:account/balance                        -> 200 / 404
//   POST /:account/withdraw    {"amount"}         -> 200 / 400 / 404 / 500
//
// The server span is the HTTP instrumentation's (@opentelemetry/instrumentation-http, named after
// the route by @opentelemetry/instrumentation-express); the bank's spans are children of the
// request handler's span, the active one when the route runs.

const express = require('express');
const { context } = require('@opentelemetry/api');

/** The Express application of `bank`. */
function createApp(bank) {
  const app = express();
  app.use(express.json());

  app.post('/accounts', async (req, res, next) => {
    try {
      const { id, balance } = req.body || {};
      send(res, await bank.createAccount(id, balance));
    } catch (e) {
      next(e);
    }
  });

  app.get('/:account/balance', async (req, res, next) => {
    try {
      send(res, await bank.balance(req.params.account));
    } catch (e) {
      next(e);
    }
  });

  app.post('/:account/withdraw', async (req, res, next) => {
    try {
      const { amount } = req.body || {};
      send(res, await bank.withdraw(context.active(), req.params.account, amount));
    } catch (e) {
      next(e);
    }
  });

  return app;
}

function send(res, reply) {
  res.status(reply.status).json(reply.body);
}

module.exports = { createApp };
