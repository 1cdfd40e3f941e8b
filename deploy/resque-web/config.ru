# Ruby's resque-web beside the pyres-ts dashboard, on the same Redis (deploy/compose.yml).
require 'resque'
require 'resque/server'
Resque.redis = ENV.fetch('REDIS_URL', 'redis://redis:6379')
run Resque::Server.new
