'use strict';
// The chaos soak's job module (`pyres-ts master --jobs chaos/jobs.js`): the jobs live in
// fixtures/jobs/chaos.js, shared with the fuzz, security and fault tests.
module.exports = require('../fixtures/jobs/chaos.js');
