#!/usr/bin/env bash
# make demo: a controller on the embedded store under ./var/demo, one agent
# enrolled from this machine, and vigilctl ready to use. Runs in the
# foreground until Ctrl-C (or for DEMO_DURATION seconds), then stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-./bin}
DIR=${DEMO_DIR:-./var/demo}
AGENT_ADDR=${DEMO_AGENT_ADDR:-127.0.0.1:7443}
API_ADDR=${DEMO_API_ADDR:-127.0.0.1:7444}
INTERVAL=${DEMO_INTERVAL:-10s}

for b in vigil-controller vigil-agent vigilctl; do
  [ -x "$BIN/$b" ] || { echo "demo: $BIN/$b missing; run 'make build'" >&2; exit 1; }
done

pids=()
cleanup() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    echo
    echo "demo: stopping (SIGTERM)..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  echo "demo: stopped. State kept in $DIR (removed on the next 'make demo')."
}
trap cleanup EXIT INT TERM

rm -rf "$DIR"
mkdir -p "$DIR"
export VIGIL_CONFIG="$DIR/admin.json"

echo "demo: initialising the controller in $DIR/ctl"
init_out=$("$BIN/vigil-controller" init --data "$DIR/ctl" --admin-config "$VIGIL_CONFIG" --api-address "$API_ADDR")
echo "$init_out" | sed 's/^/  /'
pin=$(echo "$init_out" | sed -n 's/^ca-pin: //p')

"$BIN/vigil-controller" run --data "$DIR/ctl" --agent-listen "$AGENT_ADDR" --api-listen "$API_ADDR" \
  >"$DIR/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$BIN/vigilctl" whoami >/dev/null 2>&1 && break
  sleep 0.1
done
"$BIN/vigilctl" whoami >/dev/null || { echo "demo: controller did not start; see $DIR/controller.log" >&2; exit 1; }

"$BIN/vigilctl" tenant create demo --name "Demo Client" --timezone Europe/Paris >/dev/null

# Signing: the MSP root key (kept offline in real life), a signing key
# certified for the admin (technician work) and for a client approver of the
# demo tenant (who approves downtime). See docs/cli.md, "Setting up signing".
json_field() { sed -n "s/^ *\"$1\": \"\(.*\)\",*$/\1/p"; }
"$BIN/vigilctl" trust init --key "$DIR/root.key" --set >/dev/null 2>&1
root=$("$BIN/vigilctl" trust show -o json | json_field fingerprint)
certify() { # CONFIG PRINCIPAL ROLE [TENANT]
  "$BIN/vigilctl" --config "$1" keys generate >/dev/null
  local pub
  pub=$("$BIN/vigilctl" --config "$1" keys show -o json | json_field public_key)
  "$BIN/vigilctl" trust certify --root "$DIR/root.key" --principal "$2" --role "$3" ${4:+--tenant "$4"} \
    --public-key "$pub" --register --out "$DIR/$2.cert" >/dev/null
  "$BIN/vigilctl" --config "$1" keys set-cert "$DIR/$2.cert" >/dev/null
}
certify "$VIGIL_CONFIG" admin admin
"$BIN/vigilctl" principal create carol --role client-approver --tenant demo --write-config "$DIR/carol.json" >/dev/null
certify "$DIR/carol.json" carol client-approver demo

token=$("$BIN/vigilctl" token create --tenant demo --ttl 1h --uses 1 -o json | json_field token)
"$BIN/vigil-agent" enroll --controller "$AGENT_ADDR" --ca-pin "$pin" --trust-root "$root" --token "$token" --state "$DIR/agent" | sed 's/^/  /'
# The demo must not reboot this machine: a reboot task runs this instead.
cat >"$DIR/fake-reboot.sh" <<'SH'
#!/bin/sh
echo "$(date -u +%FT%TZ) reboot requested: $*" >>"$(dirname "$0")/reboot.log"
SH
chmod 755 "$DIR/fake-reboot.sh"
cat >"$DIR/agent/config.json.new" <<JSON
{"trust_root": "$root", "tier": "proactive", "plugins": {"env": ["VIGIL_REBOOT_COMMAND=$(cd "$DIR" && pwd)/fake-reboot.sh"]}}
JSON
mv "$DIR/agent/config.json.new" "$DIR/agent/config.json"
chmod 600 "$DIR/agent/config.json"
"$BIN/vigil-agent" run --state "$DIR/agent" --metrics-interval "$INTERVAL" >"$DIR/agent.log" 2>&1 &
pids+=($!)

agent_id=$(sed -n 's/.*"agent_id": "\(.*\)".*/\1/p' "$DIR/agent/identity.json")
for _ in $(seq 1 100); do
  "$BIN/vigilctl" agents show "$agent_id" -o json 2>/dev/null | grep -q '"latest": {' && break
  sleep 0.1
done

# A network check on the controller's own API port, run from the controller
# and from the local agent (a vantage point), run once now.
check_id=$("$BIN/vigilctl" check create --tenant demo --name "controller API" --target "${API_ADDR%:*}" \
  --type tcp --port "${API_ADDR##*:}" --from "controller,agent:$agent_id" -o json | json_field id | head -n 1)
"$BIN/vigilctl" check resume "$check_id" >/dev/null 2>&1 || true

cat <<MSG

vigil demo is running.
  controller   agent listener $AGENT_ADDR (mTLS), API $API_ADDR — log $DIR/controller.log
  agent        $agent_id on $(hostname), sampling every $INTERVAL — log $DIR/agent.log
  admin        credentials in $VIGIL_CONFIG (API token; keep it secret)
  ca-pin       $pin

Try, in another terminal:
  export VIGIL_CONFIG=$VIGIL_CONFIG
  $BIN/vigilctl agents list
  $BIN/vigilctl agents show $agent_id
  $BIN/vigilctl metrics $agent_id --since 10m -o csv
  $BIN/vigilctl patches list
  $BIN/vigilctl agents rescan $agent_id --wait
  $BIN/vigilctl patches show $agent_id
  $BIN/vigilctl reboot-state $agent_id
  $BIN/vigilctl inventory show $agent_id --hardware
  $BIN/vigilctl patches compliance
  $BIN/vigilctl task run $agent_id --plugin script --param script='uname -a; df -h /' --follow
  $BIN/vigilctl task run $agent_id --plugin reboot --param delay=0s      # downtime: waits for the client
  $BIN/vigilctl --config $DIR/carol.json task approve TASK_ID --yes      # carol, the client's approver
  $BIN/vigilctl task list
  $BIN/vigilctl plugins list $agent_id
  (reboot tasks run $DIR/fake-reboot.sh here, logging to $DIR/reboot.log, not a real reboot)
  $BIN/vigilctl rule list --tenant demo                                  # the six default alert rules
  $BIN/vigilctl rule create --tenant demo --kind metric --when 'cpu > 50% for 2m'
  $BIN/vigilctl alert list --open
  $BIN/vigilctl check list                                              # $check_id: the controller's API port
  $BIN/vigilctl check history $check_id -o csv
  $BIN/vigilctl contact create --tenant demo --email you@example.com --default
  $BIN/vigilctl notifications list
  $BIN/vigilctl maintenance start $agent_id --until 1h
  $BIN/vigilctl report --tenant demo --since 1d --format json
  $BIN/vigilctl principal create alice --role client-viewer --tenant demo --write-config $DIR/alice.json
  $BIN/vigil-agent status --state $DIR/agent

Press Ctrl-C to stop.
MSG

if [ -n "${DEMO_DURATION:-}" ]; then
  sleep "$DEMO_DURATION"
  "$BIN/vigilctl" agents list
else
  wait "${pids[@]}"
fi
