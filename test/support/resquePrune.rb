# A test harness (not a fixture): Ruby Resque 3.0's Worker#prune_dead_workers decision, run
# against a real Redis, for a Ruby worker on this host listening on the queues given as ARGV.
# The resque gem is not installed; only ruby-redis. Each step below mirrors worker.rb 3.0 as
# docs/protocol/PROTOCOL-resque.md describes it:
#
#   §6.2 prune lock: `SET pruning_dead_workers_in_progress <id> EX 60 NX` (skipped here: the
#        test decides when to prune; the lock only limits how often).
#   §6.1 / §6.3 rule 1 (worker.rb:639-658, resque.rb:186-208): every `workers:heartbeat` field
#        whose `(TIME - Time.parse(hb)).to_i > Resque.prune_interval` (300) is pruned.
#   §6.3 rule 2 (worker.rb:660-681), for each of `Worker.all` not caught by rule 1:
#        host, pid, worker_queues_raw = worker.id.split(':')          # §3.2: no limit (worker.rb:664)
#        worker_queues = worker_queues_raw.split(",")
#        unless @queues.include?("*") || (worker_queues.to_set == @queues.to_set)
#          next
#        end
#        next unless host == hostname                                  # Socket.gethostname (worker.rb:849-851)
#        next if known_workers.include?(pid)
#        worker.unregister_worker
#   known_workers = worker_pids (worker.rb:879-883):
#        `ps -A -o pid,command | grep -E "[r]esque:work|[r]esque:\sStarting|[r]esque-[0-9]" | grep -v "resque-web"`
#        .split("\n").map { |line| line.split(' ')[0] }
#
# Usage: REDIS_URL=redis://... ruby resquePrune.rb [--apply] queue [queue...]
# Prints one JSON line per registered or heartbeating worker: {"id":..., "verdict":"prune"|"keep",
# "why":...}. With --apply, a pruned worker is unregistered as Resque's data_store does it
# (SREM workers, DEL worker:<id> and worker:<id>:started, HDEL workers:heartbeat, DEL its stats).
require 'redis'
require 'json'
require 'set'
require 'socket'
require 'time'

apply = ARGV.delete('--apply')
queues = ARGV.map(&:strip)
abort 'give the pruning worker\'s queues' if queues.empty?
ns = ENV.fetch('RESQUE_NAMESPACE', 'resque')
redis = Redis.new(url: ENV.fetch('REDIS_URL'))
prune_interval = Integer(ENV.fetch('PRUNE_INTERVAL', '300'))
hostname = Socket.gethostname

def worker_pids
  `ps -A -o pid,command | grep -E "[r]esque:work|[r]esque:\\sStarting|[r]esque-[0-9]" | grep -v "resque-web"`.split("\n").map do |line|
    line.split(' ')[0]
  end
end

all_workers = redis.smembers("#{ns}:workers")
known_workers = worker_pids
now = redis.time[0]
expired = redis.hgetall("#{ns}:workers:heartbeat").select do |_id, hb|
  (now - Time.parse(hb).to_i) > prune_interval
end.keys

out = []
expired.each { |id| out << { id: id, verdict: 'prune', why: 'heartbeat expired' } }
all_workers.each do |id|
  next if expired.include?(id)

  host, pid, worker_queues_raw = id.split(':')
  worker_queues = worker_queues_raw.split(',')
  unless queues.include?('*') || (worker_queues.to_set == queues.to_set)
    out << { id: id, verdict: 'keep', why: 'other queues' }
    next
  end
  unless host == hostname
    out << { id: id, verdict: 'keep', why: 'other host' }
    next
  end
  if known_workers.include?(pid)
    out << { id: id, verdict: 'keep', why: 'pid in ps' }
    next
  end
  out << { id: id, verdict: 'prune', why: 'pid not in ps' }
end

out.each do |o|
  if apply && o[:verdict] == 'prune'
    id = o[:id]
    redis.srem?("#{ns}:workers", id)
    redis.del("#{ns}:worker:#{id}", "#{ns}:worker:#{id}:started", "#{ns}:stat:processed:#{id}", "#{ns}:stat:failed:#{id}")
    redis.hdel("#{ns}:workers:heartbeat", id)
  end
  puts JSON.generate(o)
end
