'use strict';
// The chaos soak's job module (`pyres-ts master --jobs chaos/jobs.js`): ChaosJob and the other
// shared jobs live in fixtures/jobs/chaos.js (also used by the fuzz, security and fault tests);
// ChaosStep, used by the fault classes, in fixtures/jobs/chaos-steps.js.
module.exports = { ...require('../fixtures/jobs/chaos.js'), ...require('../fixtures/jobs/chaos-steps.js') };
