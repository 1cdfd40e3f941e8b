'use strict';
// Example job module: every export with a perform(...args) method is a job, named by its
// export name. Ruby (`MyApp::SendWelcome`) and Python (`myapp.jobs.SendWelcome`) producers'
// names match too, by their last segment.
const { currentJob } = require('../dist/index.js');

const pause = ms => new Promise(r => setTimeout(r, ms));

exports.SendWelcome = {
  async perform(userId, email) {
    await pause(20);
    currentJob().logger.info(`welcome mail to ${email} (user ${userId})`);
  },
};

class ResizeImage {
  async perform(path, width) {
    // this.context is the same object currentJob() returns
    await pause(30);
    this.context.logger.info(`resized ${path} to ${width}px`);
  }
}
exports.ResizeImage = ResizeImage;

exports.ChargeCard = {
  perform(orderId, cents) {
    if (cents > 100000) throw new RangeError(`order ${orderId}: ${cents} cents is over the limit`);
  },
};
