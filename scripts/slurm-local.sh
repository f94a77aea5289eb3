#!/bin/bash
# A single-host Slurm cluster for tests and trials: slurmctld + slurmd on 127.0.0.1, one `debug`
# partition with this machine's cores, munge for authentication. Debian's slurm-wlm and munge
# (`make deps` installs them). Runs as root (slurmd must); everything lives in $GANTRY_SLURM_DIR
# (default /tmp/gantry-slurm), so nothing under /etc is changed.
#
#   scripts/slurm-local.sh start     # prints `export SLURM_CONF=…` on its last line
#   scripts/slurm-local.sh stop
#   scripts/slurm-local.sh status
#
# Exit status is non-zero with the reason on stderr when the cluster cannot come up.
set -euo pipefail

DIR=${GANTRY_SLURM_DIR:-/tmp/gantry-slurm}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

fail() { echo "slurm-local: $*" >&2; exit 1; }

need() {
  for c in slurmctld slurmd sbatch squeue scontrol munged; do
    command -v "$c" >/dev/null || fail "'$c' not found (install Debian's slurm-wlm and munge: make deps)"
  done
  [ "$(id -u)" = 0 ] || fail "must run as root (slurmd launches jobs as their owner)"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    command -v mungekey >/dev/null && mungekey --create --keyfile=/etc/munge/munge.key \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- munged || munged --force || fail "munged did not start"
  else
    munged --force || fail "munged did not start"
  fi
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.1; done
  fail "munge does not answer (munge -n | unmunge)"
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
  cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a single-host test cluster.
ClusterName=gantry-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MaxArraySize=10001
MaxJobCount=20000
SchedulerParameters=defer_batch
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

running() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

start() {
  need
  start_munge
  if running slurmctld && running slurmd && scontrol ping >/dev/null 2>&1; then
    echo "export SLURM_CONF=$CONF"; return
  fi
  stop >/dev/null 2>&1 || true
  write_conf
  slurmctld -i || fail "slurmctld did not start (see $DIR/log/slurmctld.log)"
  slurmd || fail "slurmd did not start (see $DIR/log/slurmd.log)"
  local host; host=$(hostname -s)
  for _ in $(seq 100); do
    if scontrol ping 2>/dev/null | grep -q UP && sinfo -h -n "$host" -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "export SLURM_CONF=$CONF"; return
    fi
    sleep 0.2
  done
  scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
  sleep 1
  sinfo -h -n "$host" -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' \
    || fail "node $host did not become idle: $(sinfo -h -o '%t %E' 2>&1 | head -1) (logs in $DIR/log)"
  echo "export SLURM_CONF=$CONF"
}

stop() {
  for d in slurmd slurmctld; do
    if running "$d"; then kill "$(cat "$DIR/$d.pid")" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do running slurmd || running slurmctld || break; sleep 0.1; done
  rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) need; scontrol ping; sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
