#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for tests: munged, slurmctld and slurmd on localhost, all state
# (munge key, slurm.conf, spool, logs) under one folder. Needs root and Debian's slurm-wlm and munge
# (`apt-get install slurm-wlm munge`); no accounting database: job status comes from squeue, so completed
# jobs are kept in its view for a day (MinJobAge). Partitions: standard (default) and gpu (the same node;
# it has no GPU, so a job asking for one would wait: tests check the sbatch arguments of GPU jobs instead).
# slurm.conf is linked from /etc/slurm/slurm.conf too: the executor plugin's job step drops SLURM_CONF from
# the environment of the srun it starts inside every job, so Slurm's clients must find it where they look
# by default. An /etc/slurm/slurm.conf that is not such a link is left alone (and the script refuses).
#
#   eval "$(tools/slurm-local.sh up /tmp/slurm)"    # starts it; prints `export SLURM_CONF=...`
#   tools/slurm-local.sh down /tmp/slurm           # stops it
set -euo pipefail
action=${1:?usage: slurm-local.sh up|down STATE_DIR}
state=${2:?usage: slurm-local.sh up|down STATE_DIR}

default_conf=/etc/slurm/slurm.conf

stop() {
    for pidfile in "$state"/slurmd.pid "$state"/slurmctld.pid "$state"/munged.pid; do
        if [[ -f $pidfile ]]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
            rm -f "$pidfile"
        fi
    done
    if [[ -L $default_conf && $(readlink "$default_conf") == "$state"/slurm.conf ]]; then
        rm -f "$default_conf"
    fi
}

case $action in
down)
    stop
    exit 0
    ;;
up) ;;
*)
    echo "usage: slurm-local.sh up|down STATE_DIR" >&2
    exit 2
    ;;
esac

for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "slurm-local.sh: $tool not found; apt-get install slurm-wlm munge" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "slurm-local.sh: run as root (the daemons run jobs as their user)" >&2; exit 1; }
mkdir -p "$state"/ctld "$state"/d "$state"/munge
chmod 700 "$state"/munge
state=$(cd "$state" && pwd)
stop
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    other=$(readlink "$default_conf" 2>/dev/null || echo "unknown")
    echo "slurm-local.sh: a SLURM daemon is already running (slurm.conf: $other); bring that cluster down" \
        "first (tools/slurm-local.sh down <its state folder>)" >&2
    exit 1
fi
if [[ -e $default_conf && ! -L $default_conf ]]; then
    echo "slurm-local.sh: $default_conf exists and is not ours: this machine has a SLURM of its own" >&2
    exit 1
fi
if [[ ! -f $state/munge/munge.key ]]; then
    dd if=/dev/urandom of="$state"/munge/munge.key bs=1024 count=1 status=none
    chmod 400 "$state"/munge/munge.key
fi
munged --force --key-file="$state"/munge/munge.key --socket="$state"/munge/munge.socket \
    --pid-file="$state"/munged.pid --log-file="$state"/munged.log --seed-file="$state"/munge/munge.seed

node=$(hostname -s)
cpus=$(nproc)
memory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))  # MB, a GB left to the system
cat >"$state"/slurm.conf <<CONF
ClusterName=detcnn
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=86400
KillWait=30
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=standard Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node MaxTime=INFINITE State=UP
CONF
mkdir -p "$(dirname "$default_conf")"
ln -sfn "$state"/slurm.conf "$default_conf"
export SLURM_CONF=$state/slurm.conf
slurmctld -c
slurmd
for _ in $(seq 60); do
    if sinfo -h -N -o %t 2>/dev/null | grep -qE '^idle'; then
        echo "export SLURM_CONF=$SLURM_CONF"
        exit 0
    fi
    sleep 0.5
done
echo "slurm-local.sh: the node did not come up; see $state/slurmctld.log and $state/slurmd.log" >&2
sinfo >&2 || true
exit 1
