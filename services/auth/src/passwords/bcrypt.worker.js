// @ts-check
'use strict';
// Runs inside piscina's worker threads. Plain CommonJS on purpose: worker threads load it with Node's own
// loader, so it works unchanged from source (tsx, jest) and from dist/ (tsc copies it with allowJs).
const bcrypt = require('bcryptjs');

/** @param {{ password: string, cost: number }} task */
function hash(task) {
  return bcrypt.hashSync(task.password, task.cost);
}

/** @param {{ password: string, hash: string }} task */
function compare(task) {
  return bcrypt.compareSync(task.password, task.hash);
}

module.exports = { hash, compare };
